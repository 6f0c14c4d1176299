"""Alembic environment: runs on the connection `Database.migrate` hands over, never its own."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from botperms.store.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    # No alembic.ini and no URL of its own: the store is migrated through one code path only,
    # so the CLI, the tests and the app cannot disagree about how it is done.
    raise RuntimeError("run migrations through botperms.store.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table when needed.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

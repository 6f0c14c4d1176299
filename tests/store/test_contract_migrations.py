"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from botperms.store import Database
from botperms.store.models import Base, conversation_group

TABLES = {
    "messenger_users",
    "grants",
    "login_attempts",
    "inbox",
    "outbox",
    "link_codes",
    "pending_intents",
    "deletion_requests",
    "user_profiles",
    "pages",
    "page_backoff",
}


def _diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_models_match_the_migration(database: Database) -> None:
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_diffs) == []


async def test_migrate_is_idempotent(database: Database) -> None:
    await database.migrate()
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_tables) >= TABLES


async def test_downgrade_to_base_then_upgrade_again(database: Database) -> None:
    await database.downgrade("base")
    async with database.engine.connect() as connection:
        assert not (TABLES & await connection.run_sync(_tables))
    await database.migrate()
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_tables) >= TABLES
        assert await connection.run_sync(_diffs) == []


async def test_sqlite_connections_use_wal_and_foreign_keys(database: Database) -> None:
    if database.dialect != "sqlite":
        return
    async with database.engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000


async def test_the_groups_migration_gives_waiting_rows_their_group(database: Database) -> None:
    await database.downgrade("0005")
    async with database.engine.begin() as connection:
        for key, psid, status in (
            ("e1", "alice", "pending"),
            ("e2", None, "pending"),
            ("e3", "bob", "done"),
        ):
            await connection.execute(
                text(
                    "INSERT INTO inbox (event_key, page_id, psid, kind, payload, standby, "
                    "event_time, received_at, status, attempts) VALUES (:key, 'p', :psid, "
                    "'message', '{}', false, 1, '2026-12-01 00:00:00+00:00', :status, 0)"
                ),
                {"key": key, "psid": psid, "status": status},
            )
    await database.migrate()
    async with database.engine.connect() as connection:
        rows = (
            await connection.execute(text("SELECT event_key, conversation_group FROM inbox"))
        ).all()
    assert dict(rows) == {"e1": conversation_group("alice"), "e2": 0, "e3": None}


async def test_postgresql_plans_each_statement_for_its_parameters(database: Database) -> None:
    # A generic plan cached while the queues were empty stalled the worker once they grew.
    if database.dialect == "sqlite":
        return
    async with database.engine.connect() as connection:
        mode = (await connection.exec_driver_sql("SHOW plan_cache_mode")).scalar()
    assert mode == "force_custom_plan"

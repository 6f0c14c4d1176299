"""Conversation groups: the distributed workers read a group's due events and messages by
index (one job per group of conversations instead of one per conversation).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen here: a migration must not change when the application's code does.
GROUPS = 64


def _group(psid: str | None) -> int:
    return zlib.crc32(psid.encode()) % GROUPS if psid else 0


def upgrade() -> None:
    for table_name in ("inbox", "outbox"):
        with op.batch_alter_table(table_name) as batch:
            batch.add_column(sa.Column("conversation_group", sa.SmallInteger, nullable=True))
    # Rows a worker may still have to read get their group; done rows keep none (nothing
    # reads them by group).
    connection = op.get_bind()
    for name, statuses in (
        ("inbox", ("pending", "processing")),
        ("outbox", ("pending", "sending")),
    ):
        table = sa.table(
            name, sa.column("psid", sa.String), sa.column("status", sa.String),
            sa.column("conversation_group", sa.SmallInteger),
        )  # fmt: skip
        waiting = table.c.status.in_(statuses)
        people = connection.execute(sa.select(table.c.psid).where(waiting).distinct()).all()
        for (psid,) in people:
            person = table.c.psid.is_(None) if psid is None else table.c.psid == psid
            connection.execute(
                sa.update(table).where(person).values(conversation_group=_group(psid))
            )
    op.create_index(
        "ix_inbox_group", "inbox", ["status", "page_id", "conversation_group", "event_time", "id"]
    )
    op.create_index("ix_outbox_group", "outbox", ["status", "page_id", "conversation_group", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_group", table_name="outbox")
    op.drop_index("ix_inbox_group", table_name="inbox")
    for table in ("outbox", "inbox"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("conversation_group")

"""The event pipeline: standby events, a claimable outbox, the user-profile cache.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(
            sa.Column("standby", sa.Boolean, nullable=False, server_default=sa.false())
        )
    # Which conversations wait for a retry (read at every pass of the inbox worker).
    op.create_index("ix_inbox_status_retry", "inbox", ["status", "retry_at"])
    # The claim reads the oldest pending message of each conversation.
    op.create_index("ix_outbox_status_id", "outbox", ["status", "id"])
    op.create_table(
        "user_profiles",
        sa.Column("page_id", sa.String(64), primary_key=True),
        sa.Column("psid", sa.String(64), primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_profiles")
    op.drop_index("ix_outbox_status_id", table_name="outbox")
    op.drop_index("ix_inbox_status_retry", table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("standby")

"""Many pages: the pages a bot answers for, and each page's Send API backoff.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "pages",
        sa.Column("page_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        # The page access token, encrypted with the store's TokenCipher like grants' tokens.
        sa.Column("token_ciphertext", sa.Text, nullable=False),
        # The webhook fields the app was subscribed to when the page was added.
        sa.Column("subscribed_fields", sa.JSON, nullable=False),
        _when("created_at"),
        _when("updated_at"),
    )
    # Shared by every worker: a rate-limited page pauses its sends on all of them.
    op.create_table(
        "page_backoff",
        sa.Column("page_id", sa.String(64), primary_key=True),
        _when("paused_until"),
        # How many rate limits in a row (the next pause doubles); reset by a good send.
        sa.Column("strikes", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        _when("updated_at"),
    )


def downgrade() -> None:
    op.drop_table("page_backoff")
    op.drop_table("pages")

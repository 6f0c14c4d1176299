"""Account-linking codes, pending intents and data-deletion requests.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "link_codes",
        # SHA-256 of the authorization_code: the code itself is never stored.
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("grant_id", sa.Integer, nullable=False),
        sa.Column("page_id", sa.String(64), nullable=False),
        sa.Column("psid", sa.String(64), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
    )
    op.create_index("ix_link_codes_person", "link_codes", ["page_id", "psid"])
    op.create_table(
        "pending_intents",
        sa.Column("page_id", sa.String(64), primary_key=True),
        sa.Column("psid", sa.String(64), primary_key=True),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("event", sa.JSON, nullable=False),
        sa.Column("asks", sa.Integer, nullable=False),
        _when("created_at"),
        _when("expires_at"),
    )
    op.create_table(
        "deletion_requests",
        sa.Column("code", sa.String(64), primary_key=True),
        # A hash, so the record of an erasure does not itself keep the person's id.
        sa.Column("asid_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("erased", sa.JSON, nullable=False),
        _when("created_at"),
        _when("completed_at", nullable=True),
    )


def downgrade() -> None:
    op.drop_table("deletion_requests")
    op.drop_table("pending_intents")
    op.drop_index("ix_link_codes_person", table_name="link_codes")
    op.drop_table("link_codes")

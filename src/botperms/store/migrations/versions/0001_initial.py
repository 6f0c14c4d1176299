"""Initial schema: users, grants, login attempts, inbox and outbox.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Written out by hand rather than importing the models: a migration must keep describing the
# schema of its day after the models move on.
ACTIVE_ONLY = sa.text("status = 'active'")


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "messenger_users",
        sa.Column("page_id", sa.String(64), primary_key=True),
        sa.Column("psid", sa.String(64), primary_key=True),
        sa.Column("asid", sa.String(64), nullable=True),
        sa.Column("first_name", sa.String(255), nullable=True),
        sa.Column("locale", sa.String(32), nullable=True),
        _when("created_at"),
        _when("updated_at"),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("page_id", sa.String(64), nullable=False),
        sa.Column("psid", sa.String(64), nullable=False),
        sa.Column("asid", sa.String(64), nullable=True),
        sa.Column("token_ciphertext", sa.Text, nullable=False),
        sa.Column("scopes_granted", sa.JSON, nullable=False),
        sa.Column("scopes_declined", sa.JSON, nullable=False),
        _when("expires_at", nullable=True),
        _when("data_access_expires_at", nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("flow", sa.String(16), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        _when("revoked_at", nullable=True),
        sa.Column("revoke_reason", sa.Text, nullable=True),
    )
    op.create_index(
        "uq_grants_active_per_user",
        "grants",
        ["page_id", "psid"],
        unique=True,
        sqlite_where=ACTIVE_ONLY,
        postgresql_where=ACTIVE_ONLY,
    )
    op.create_index("ix_grants_asid", "grants", ["asid"])
    op.create_table(
        "login_attempts",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("ticket_id", sa.String(255), nullable=False, unique=True),
        sa.Column("page_id", sa.String(64), nullable=False),
        sa.Column("psid", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("flow", sa.String(16), nullable=False),
        sa.Column("auth_type", sa.String(32), nullable=True),
        sa.Column("linking_redirect_uri", sa.Text, nullable=True),
        sa.Column("verifier_ciphertext", sa.Text, nullable=True),
        sa.Column("browser_hash", sa.String(128), nullable=False),
        sa.Column("client_kind", sa.String(32), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        _when("consumed_at", nullable=True),
        sa.Column("outcome", sa.String(255), nullable=True),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_key", sa.String(255), nullable=False),
        sa.Column("page_id", sa.String(64), nullable=False),
        sa.Column("psid", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("event_time", sa.BigInteger, nullable=False),
        _when("received_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _when("retry_at", nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        _when("processed_at", nullable=True),
        sa.UniqueConstraint("page_id", "event_key", name="uq_inbox_page_event"),
    )
    op.create_index("ix_inbox_status_time", "inbox", ["status", "event_time", "id"])
    op.create_index("ix_inbox_conversation", "inbox", ["page_id", "psid"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("page_id", sa.String(64), nullable=False),
        sa.Column("psid", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("messaging_type", sa.String(32), nullable=False),
        sa.Column("tag", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _when("next_attempt_at"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("message_id", sa.String(255), nullable=True),
        _when("created_at"),
        _when("sent_at", nullable=True),
    )
    op.create_index("ix_outbox_status_conversation", "outbox", ["status", "page_id", "psid", "id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("login_attempts")
    op.drop_table("grants")
    op.drop_table("messenger_users")

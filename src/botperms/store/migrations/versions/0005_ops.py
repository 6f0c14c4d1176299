"""Operations: the login funnel's counts, and what `botperms tokens check` found per grant.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # One row per (day, flow, client kind, step, reason), bumped in place: nothing in it
    # says who, and it stays small however many people log in.
    op.create_table(
        "login_funnel",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("flow", sa.String(16), primary_key=True),
        sa.Column("client_kind", sa.String(32), primary_key=True),
        sa.Column("step", sa.String(32), primary_key=True),
        sa.Column("reason", sa.String(64), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("token_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("token_check", sa.String(16), nullable=True))
        batch.add_column(sa.Column("expiry_notified_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("expiry_notified_at")
        batch.drop_column("token_check")
        batch.drop_column("token_checked_at")
    op.drop_table("login_funnel")

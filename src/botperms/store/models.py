"""The tables. Plain SQLAlchemy 2 declarative models; repositories turn rows into records."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ACTIVE_ONLY = text("status = 'active'")

# The distributed mode's workers take a page's conversations in this many groups: one job
# handles a whole group's due work (see botperms.worker.engine).
CONVERSATION_GROUPS = 64


def conversation_group(psid: str | None) -> int:
    """The group of a conversation (a stable hash of the PSID; events without a person: 0)."""
    return zlib.crc32(psid.encode()) % CONVERSATION_GROUPS if psid else 0


def _group_default(context: Any) -> int:
    return conversation_group(context.get_current_parameters().get("psid"))


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on every backend.

    SQLite keeps no zone and compares datetimes as text, so everything is stored as UTC and the
    zone is put back on the way out; a naive datetime going in is a bug and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store only takes timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class MessengerUser(Base):
    __tablename__ = "messenger_users"

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    psid: Mapped[str] = mapped_column(String(64), primary_key=True)
    asid: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Grant(Base):
    __tablename__ = "grants"
    __table_args__ = (
        # At most one active grant per person; replaced/revoked ones stay as history.
        Index(
            "uq_grants_active_per_user",
            "page_id",
            "psid",
            unique=True,
            sqlite_where=ACTIVE_ONLY,
            postgresql_where=ACTIVE_ONLY,
        ),
        Index("ix_grants_asid", "asid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    page_id: Mapped[str] = mapped_column(String(64))
    psid: Mapped[str] = mapped_column(String(64))
    asid: Mapped[str | None] = mapped_column(String(64))
    token_ciphertext: Mapped[str] = mapped_column(Text)
    scopes_granted: Mapped[list[str]]
    scopes_declined: Mapped[list[str]]
    expires_at: Mapped[datetime | None]
    data_access_expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    flow: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    # `botperms tokens check`: when debug_token last looked at the token and what it said
    # ("valid", "expired", "invalid"), and when the person was told data access runs out.
    token_checked_at: Mapped[datetime | None]
    token_check: Mapped[str | None] = mapped_column(String(16))
    expiry_notified_at: Mapped[datetime | None]


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(255), unique=True)
    page_id: Mapped[str] = mapped_column(String(64))
    psid: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]]
    flow: Mapped[str] = mapped_column(String(16))
    auth_type: Mapped[str | None] = mapped_column(String(32))
    linking_redirect_uri: Mapped[str | None] = mapped_column(Text)
    verifier_ciphertext: Mapped[str | None] = mapped_column(Text)
    browser_hash: Mapped[str] = mapped_column(String(128))
    client_kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(255))


class InboxEvent(Base):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("page_id", "event_key", name="uq_inbox_page_event"),
        Index("ix_inbox_status_time", "status", "event_time", "id"),
        Index("ix_inbox_conversation", "page_id", "psid"),
        Index("ix_inbox_status_retry", "status", "retry_at"),
        Index("ix_inbox_group", "status", "page_id", "conversation_group", "event_time", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(255))
    page_id: Mapped[str] = mapped_column(String(64))
    psid: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    # Came in `standby[]`: another app owns the thread, so the bot reads but does not answer.
    standby: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("0"))
    # Facebook's event timestamp in milliseconds since the epoch; needs 64 bits.
    event_time: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    retry_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]
    # conversation_group(psid), stored so a worker reads a group's events from an index.
    conversation_group: Mapped[int | None] = mapped_column(SmallInteger, default=_group_default)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_conversation", "status", "page_id", "psid", "id"),
        Index("ix_outbox_status_id", "status", "id"),
        Index("ix_outbox_group", "status", "page_id", "conversation_group", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    page_id: Mapped[str] = mapped_column(String(64))
    psid: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    messaging_type: Mapped[str] = mapped_column(String(32))
    tag: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    conversation_group: Mapped[int | None] = mapped_column(SmallInteger, default=_group_default)


class LinkCode(Base):
    __tablename__ = "link_codes"
    __table_args__ = (Index("ix_link_codes_person", "page_id", "psid"),)

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[int] = mapped_column(Integer)
    page_id: Mapped[str] = mapped_column(String(64))
    psid: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PendingIntent(Base):
    __tablename__ = "pending_intents"

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    psid: Mapped[str] = mapped_column(String(64), primary_key=True)
    scopes: Mapped[list[str]]
    event: Mapped[dict[str, Any]]
    asks: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class DeletionRequest(Base):
    __tablename__ = "deletion_requests"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    asid_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    erased: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class UserProfile(Base):
    """The User Profile API's answer for a person, cached (it rarely changes, and a Graph
    call per event would cost more than handling the event)."""

    __tablename__ = "user_profiles"

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    psid: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]]
    fetched_at: Mapped[datetime]


class Page(Base):
    """A page the bot answers for (besides the settings' one-page shortcut)."""

    __tablename__ = "pages"

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    token_ciphertext: Mapped[str] = mapped_column(Text)
    subscribed_fields: Mapped[list[str]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PageBackoff(Base):
    """A page whose Send API calls are paused after a rate limit, seen by every worker."""

    __tablename__ = "page_backoff"

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused_until: Mapped[datetime]
    strikes: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class LoginFunnel(Base):
    """How many logins reached each step, per day, flow and client kind; never who."""

    __tablename__ = "login_funnel"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    flow: Mapped[str] = mapped_column(String(16), primary_key=True)
    client_kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The failure reason, or the declined scopes; "" for steps without one.
    reason: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)

"""Plain, frozen records the store hands out (never ORM objects, so nothing lazy-loads later)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GRANT_STATUSES = ("active", "pending", "revoked", "expired", "replaced")
# Embedded mode never writes "processing": what is being handled is known in memory, and an
# event whose effects were not committed is simply still "pending" after a crash.
INBOX_STATUSES = ("pending", "processing", "done", "failed")
# "sending": claimed for a Send API call whose answer is not recorded yet. After a crash these
# are the ambiguous ones (the message may or may not be in the chat).
OUTBOX_STATUSES = ("pending", "sending", "sent", "dead")


@dataclass(frozen=True)
class GrantRecord:
    """A person's user access token and what it allows. `access_token` is decrypted."""

    id: int
    page_id: str
    psid: str
    asid: str | None
    # repr=False: a record printed in a log line or a traceback must not carry the token.
    access_token: str = field(repr=False)
    scopes_granted: tuple[str, ...]
    scopes_declined: tuple[str, ...]
    expires_at: datetime | None
    data_access_expires_at: datetime | None
    status: str
    flow: str
    created_at: datetime
    revoked_at: datetime | None = None
    revoke_reason: str | None = None

    def has_scopes(self, *scopes: str) -> bool:
        """True when every one of `scopes` was granted."""
        return set(scopes) <= set(self.scopes_granted)

    def is_expired_at(self, now: datetime) -> bool:
        """Whether the token itself has lapsed at `now` (data access expiry is separate)."""
        if self.status == "expired":
            return True
        return self.expires_at is not None and self.expires_at <= now

    @property
    def is_expired(self) -> bool:
        return self.is_expired_at(datetime.now(UTC))


@dataclass(frozen=True)
class LoginAttemptRecord:
    """One OAuth round trip in progress. `code_verifier` is decrypted, None once consumed."""

    state_hash: str
    ticket_id: str
    page_id: str
    psid: str
    scopes: tuple[str, ...]
    flow: str
    auth_type: str | None
    linking_redirect_uri: str | None
    code_verifier: str | None = field(repr=False)
    browser_hash: str
    client_kind: str
    created_at: datetime
    expires_at: datetime
    consumed_at: datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class NewInboxItem:
    """An event to store: from a webhook delivery, or internal (login outcomes, replays).
    ``event_key`` deduplicates within the page; ``standby``: it came in ``standby[]``."""

    event_key: str
    page_id: str
    psid: str | None
    kind: str
    payload: dict[str, Any]
    event_time: int
    standby: bool = False


@dataclass(frozen=True, slots=True)
class InboxItem:
    """An event taken for handling. ``attempts`` counts the failed tries before this one."""

    id: int
    event_key: str
    page_id: str
    psid: str | None
    kind: str
    payload: dict[str, Any]
    event_time: int
    attempts: int
    standby: bool = False
    status: str = "pending"
    last_error: str | None = None

    @property
    def conversation(self) -> tuple[str, str]:
        return conversation_of(self.page_id, self.psid)


def conversation_of(page_id: str, psid: str | None) -> tuple[str, str]:
    """Events without a person form one conversation per page."""
    return (page_id, psid or "")


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A message (or sender action) waiting to go out. `attempts` counts finished tries."""

    id: int
    page_id: str
    psid: str
    payload: dict[str, Any]
    messaging_type: str
    tag: str | None
    attempts: int
    status: str = "pending"
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    message_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class PendingIntentRecord:
    """An event that needed scopes the person had not granted, kept to replay after login."""

    page_id: str
    psid: str
    scopes: tuple[str, ...]
    event: dict[str, Any]
    asks: int  # how many login prompts this intent has caused (re-asks included)
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class DeletionRequestRecord:
    """A data-deletion request, as its status page shows it. Holds no id of the person."""

    code: str
    status: str  # "done" (the only state today: erasure happens inside the callback)
    erased: dict[str, int]
    created_at: datetime
    completed_at: datetime | None

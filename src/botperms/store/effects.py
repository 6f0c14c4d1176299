"""What handling an event causes, as data: staged while the handler runs, committed with the
event (a transactional outbox). A handler that raises leaves its effects uncommitted, so its
retry starts clean, and a crash re-runs only events whose effects never committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botperms.store.funnel import FunnelStep
from botperms.store.records import NewInboxItem


@dataclass(frozen=True, slots=True)
class Send:
    """A message (or sender action) for the outbox."""

    page_id: str
    psid: str
    payload: dict[str, Any]
    messaging_type: str = "RESPONSE"
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """An internal event for the inbox (handled after the current one, in order)."""

    item: NewInboxItem


@dataclass(frozen=True, slots=True)
class SaveIntent:
    """Keep ``event`` to replay once the person granted ``scopes`` (the newest intent wins)."""

    page_id: str
    psid: str
    scopes: tuple[str, ...]
    event: dict[str, Any]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CountIntentAsk:
    """One more login prompt was sent for the person's intent."""

    page_id: str
    psid: str


@dataclass(frozen=True, slots=True)
class DropIntent:
    page_id: str
    psid: str


@dataclass(frozen=True, slots=True)
class ReplayIntent:
    """Take the person's intent, if it is still there and unexpired at ``now``, and queue its
    event again: it runs once, after the current event."""

    page_id: str
    psid: str
    now: datetime


@dataclass(frozen=True, slots=True)
class ExpireGrant:
    """The person's token has lapsed or Facebook refused it."""

    page_id: str
    psid: str
    reason: str


@dataclass(frozen=True, slots=True)
class Leave:
    """Log the person out: end the grant, logins in progress and a waiting request; send
    ``goodbye`` only if there was a grant to end."""

    page_id: str
    psid: str
    reason: str
    goodbye: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CountFunnel:
    """A login-funnel step this event reached (a login prompt sent), counted with it."""

    step: FunnelStep


Effect = (
    Send
    | QueueEvent
    | SaveIntent
    | CountIntentAsk
    | DropIntent
    | ReplayIntent
    | ExpireGrant
    | Leave
    | CountFunnel
)


@dataclass(frozen=True, slots=True)
class Handled:
    """An event handled: its effects commit with it, and it becomes "done"."""

    item_id: int
    effects: Sequence[Effect] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Failed:
    """An event whose handler raised: retry at ``retry_at``, or dead-letter it when None.
    Nothing the handler caused is kept; ``effects`` are those of the bot's ``on_error``
    handlers, committed with the dead letter."""

    item_id: int
    error: str
    retry_at: datetime | None
    effects: Sequence[Effect] = field(default_factory=tuple)


EventOutcome = Handled | Failed

"""Housekeeping: what the database no longer needs, removed in small batches.

Each kind of row has one rule (a table, its key and a condition on age). A rule is applied
``batch_size`` rows per transaction, so on SQLite the write lock is held for one short
DELETE at a time and the webhook's inserts and the workers' updates slip in between batches.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, func, select, tuple_

from botperms.store.base import Repository, aware
from botperms.store.models import (
    Grant,
    InboxEvent,
    LinkCode,
    LoginAttempt,
    OutboxMessage,
    PendingIntent,
    UserProfile,
)

BATCH_SIZE = 1000


@dataclass(frozen=True)
class Retention:
    """How long each kind of row is kept.

    ``done``: handled inbox events and sent messages; ``dead``: dead letters of both queues;
    ``grace``: how long short-lived rows stay past their expiry (so a late click still gets
    "expired" rather than "unknown"); ``ticket_ttl``: the longest a login ticket lives (an
    attempt is what makes its ticket single-use, so it outlives the ticket);
    ``link_code_ttl``: an account-linking code's life (a pending grant whose code is gone can
    never become active); ``profile_ttl``: the user-profile cache's.
    """

    done: timedelta
    dead: timedelta
    grace: timedelta
    ticket_ttl: timedelta
    link_code_ttl: timedelta
    profile_ttl: timedelta


# The order they run in: short-lived credentials first.
PRUNE_KINDS = (
    "login_attempts",
    "link_codes",
    "pending_grants",
    "intents",
    "profiles",
    "inbox_done",
    "inbox_dead",
    "outbox_sent",
    "outbox_dead",
)


def _millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _rule(kind: str, r: Retention, now: datetime) -> tuple[Table, list[Any], ColumnElement[bool]]:
    """The table, its key columns and the condition of the rows ``kind`` removes."""
    now = aware(now)
    if kind == "login_attempts":
        a = LoginAttempt
        condition = (a.expires_at < now - r.grace) & (a.created_at < now - r.ticket_ttl - r.grace)
        return _table(a), [a.state_hash], condition
    if kind == "link_codes":
        return _table(LinkCode), [LinkCode.code_hash], LinkCode.expires_at < now - r.grace
    if kind == "pending_grants":
        old = Grant.created_at < now - r.link_code_ttl - r.grace
        return _table(Grant), [Grant.id], (Grant.status == "pending") & old
    if kind == "intents":
        keys = [PendingIntent.page_id, PendingIntent.psid]
        return _table(PendingIntent), keys, PendingIntent.expires_at < now
    if kind == "profiles":
        keys = [UserProfile.page_id, UserProfile.psid]
        return _table(UserProfile), keys, UserProfile.fetched_at < now - r.profile_ttl
    if kind in ("inbox_done", "inbox_dead"):
        status, age = ("done", r.done) if kind == "inbox_done" else ("failed", r.dead)
        # event_time, not received_at: (status, event_time) is indexed, so a pass that finds
        # nothing to remove reads nothing either.
        old = InboxEvent.event_time < _millis(now - age)
        return _table(InboxEvent), [InboxEvent.id], (InboxEvent.status == status) & old
    if kind in ("outbox_sent", "outbox_dead"):
        status, age = ("sent", r.done) if kind == "outbox_sent" else ("dead", r.dead)
        old = OutboxMessage.created_at < now - age
        return _table(OutboxMessage), [OutboxMessage.id], (OutboxMessage.status == status) & old
    raise ValueError(f"unknown housekeeping kind {kind!r}; known: {', '.join(PRUNE_KINDS)}")


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


class HousekeepingRepository(Repository):
    async def prune(
        self,
        kind: str,
        retention: Retention,
        *,
        now: datetime,
        batch_size: int = BATCH_SIZE,
    ) -> int:
        """Remove the rows of ``kind`` (one of ``PRUNE_KINDS``) that ``retention`` no longer
        keeps, ``batch_size`` per transaction; returns how many were removed."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        table, keys, condition = _rule(kind, retention, now)
        chosen = select(*keys).where(condition).limit(batch_size)
        key = keys[0] if len(keys) == 1 else tuple_(*keys)
        statement = delete(table).where(key.in_(chosen))
        removed = 0
        while True:
            async with self._db.session() as tx:
                result = await tx.execute(statement.execution_options(synchronize_session=False))
            count = int(result.rowcount)  # type: ignore[attr-defined]
            removed += count
            if count < batch_size:
                return removed
            # Let the pipeline's transactions take their turn before the next batch.
            await asyncio.sleep(0)

    async def table_sizes(self) -> dict[str, int]:
        """Rows per table this housekeeping bounds (for ``botperms db prune`` and the tests)."""
        tables = [LoginAttempt, LinkCode, Grant, PendingIntent, UserProfile]
        tables += [InboxEvent, OutboxMessage]
        sizes: dict[str, int] = {}
        async with self._db.read() as tx:
            for model in tables:
                table = _table(model)
                count = await tx.scalar(select(func.count()).select_from(table))
                sizes[table.name] = int(count or 0)
        return sizes

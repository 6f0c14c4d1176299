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

# Rows per write transaction. Measured on a 2-core machine (SQLite, WAL; docs/operations.md):
# 1,000 rows held the write lock 64 ms (median, quiet machine), 250 rows 36 ms but removed
# rows half as fast; 500 keeps a webhook waiting behind a batch short and a busy day's rows
# within one interval.
BATCH_SIZE = 500


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


@dataclass(frozen=True)
class _Rule:
    """The rows of one kind: ``condition`` on ``table``, found by their ``keys``. With
    ``age`` set, ``condition`` names the status only and the rows are read oldest id first
    with their age, stopping at the first one still young (ids grow with time): a pass reads
    one batch of rows at most, however many are kept."""

    table: Table
    keys: list[Any]
    condition: ColumnElement[bool]
    age: Any = None
    cutoff: datetime | None = None

    def removable(self) -> ColumnElement[bool]:
        if self.age is None or self.cutoff is None:
            return self.condition
        old_enough: ColumnElement[bool] = self.age < self.cutoff
        return self.condition & old_enough


def _rule(kind: str, r: Retention, now: datetime) -> _Rule:
    now = aware(now)
    if kind == "login_attempts":
        a = LoginAttempt
        condition = (a.expires_at < now - r.grace) & (a.created_at < now - r.ticket_ttl - r.grace)
        return _Rule(_table(a), [a.state_hash], condition)
    if kind == "link_codes":
        return _Rule(_table(LinkCode), [LinkCode.code_hash], LinkCode.expires_at < now - r.grace)
    if kind == "pending_grants":
        old = Grant.created_at < now - r.link_code_ttl - r.grace
        return _Rule(_table(Grant), [Grant.id], (Grant.status == "pending") & old)
    if kind == "intents":
        keys = [PendingIntent.page_id, PendingIntent.psid]
        return _Rule(_table(PendingIntent), keys, PendingIntent.expires_at < now)
    if kind == "profiles":
        keys = [UserProfile.page_id, UserProfile.psid]
        return _Rule(_table(UserProfile), keys, UserProfile.fetched_at < now - r.profile_ttl)
    if kind in ("inbox_done", "inbox_dead"):
        status, keep = ("done", r.done) if kind == "inbox_done" else ("failed", r.dead)
        # By arrival, not by Facebook's event_time: a row is the dedupe key of its event, and
        # an event whose timestamp claims to be old (a clock, a replay, a test) must still be
        # recognised when it is redelivered minutes later. Read oldest id first, as below.
        return _Rule(
            _table(InboxEvent),
            [InboxEvent.id],
            InboxEvent.status == status,
            age=InboxEvent.received_at,
            cutoff=now - keep,
        )
    if kind in ("outbox_sent", "outbox_dead"):
        status, keep = ("sent", r.done) if kind == "outbox_sent" else ("dead", r.dead)
        # No index on created_at: the (status, id) one, read oldest first.
        return _Rule(
            _table(OutboxMessage),
            [OutboxMessage.id],
            OutboxMessage.status == status,
            age=OutboxMessage.created_at,
            cutoff=now - keep,
        )
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
        keeps, ``batch_size`` per transaction; returns how many were removed.

        Each batch is found in a read transaction (on SQLite it neither waits for nor blocks
        the writers) and deleted by key in a short write transaction that checks the
        condition again, so a row that changed meanwhile (a dead letter requeued) stays.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        rule = _rule(kind, retention, now)
        key = rule.keys[0] if len(rule.keys) == 1 else tuple_(*rule.keys)
        removed = 0
        while True:
            chosen, last = await self._prune_batch_keys(rule, batch_size)
            if chosen:
                async with self._db.session() as tx:
                    result = await tx.execute(
                        delete(rule.table)
                        .where(key.in_(chosen), rule.removable())
                        .execution_options(synchronize_session=False)
                    )
                removed += int(result.rowcount)  # type: ignore[attr-defined]
            if last:
                return removed
            # Let the pipeline's transactions take their turn before the next batch.
            await asyncio.sleep(0)

    async def _prune_batch_keys(self, rule: _Rule, limit: int) -> tuple[list[Any], bool]:
        """Up to ``limit`` keys to remove, and whether this is the last batch."""
        single = len(rule.keys) == 1
        async with self._db.read() as tx:
            if rule.age is None:
                rows = (
                    await tx.execute(select(*rule.keys).where(rule.condition).limit(limit))
                ).all()
                keys = [row[0] if single else tuple(row) for row in rows]
                return keys, len(rows) < limit
            query = select(*rule.keys, rule.age).where(rule.condition).order_by(*rule.keys)
            rows = (await tx.execute(query.limit(limit))).all()
        assert rule.cutoff is not None
        old = [row for row in rows if aware(row[-1]) < rule.cutoff]
        keys = [row[0] if single else tuple(row[:-1]) for row in old]
        return keys, len(old) < len(rows) or len(rows) < limit

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

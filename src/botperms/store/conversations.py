"""One conversation's queue, for the distributed worker: its due events, its messages to send,
and which conversations have work that no job may be holding (the sweeper's question).

The queue engine runs one job per conversation at a time (a lock per conversation), so these
reads need no row locks of their own; what they guard against instead is a job that runs after
another job already finished the same rows (``inbox_complete(..., guarded=True)``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store.base import aware, utcnow
from botperms.store.completion import CompletionRepository
from botperms.store.effects import EventOutcome
from botperms.store.grants import GrantRepository
from botperms.store.inbox import _inbox_item
from botperms.store.models import Grant, InboxEvent, OutboxMessage
from botperms.store.records import GrantRecord, InboxItem, OutboxItem


@dataclass(frozen=True, slots=True)
class ConversationEvents:
    """``items``: due events, oldest first. ``wait_until``: when the conversation's next event
    becomes due (a retry), if it has one that is not due yet."""

    items: list[InboxItem]
    wait_until: datetime | None


@dataclass(frozen=True, slots=True)
class ConversationSends:
    """``items``: messages to send now, in order. ``ambiguous``: how many of them were left
    "sending" by a job that did not finish (its worker died): they may already be in the chat.
    ``wait_until``: when the next message waiting for a retry becomes due."""

    items: list[OutboxItem]
    ambiguous: int
    wait_until: datetime | None


def _person(column: Any, psid: str) -> ColumnElement[bool]:
    return cast(ColumnElement[bool], column.is_(None) if psid == "" else column == psid)


class ConversationRepository(CompletionRepository, GrantRepository):
    async def conversation_read(
        self, page_id: str, psid: str, now: datetime, limit: int, *, strict_order: bool = True
    ) -> tuple[ConversationEvents, GrantRecord | None]:
        """The conversation's pending events due by ``now``, oldest first, and the person's
        active grant, in one read. ``strict_order``: an event waiting for its retry holds
        back the ones after it."""
        table = cast(Table, InboxEvent.__table__)
        c = table.c
        when = aware(now)
        query = (
            select(table)
            .where(c.page_id == page_id, _person(c.psid, psid), c.status == "pending")
            .order_by(c.event_time, c.id)
            .limit(limit)
        )
        async with self._db.read() as tx:
            connection = await tx.connection()
            rows = list((await connection.execute(query)).all())
            grant = None
            if rows and psid:
                # Core, not the ORM: this runs once per turn, thousands of times a second.
                grants = cast(Table, Grant.__table__).c
                found = await connection.execute(
                    select(cast(Table, Grant.__table__)).where(
                        grants.page_id == page_id, grants.psid == psid, grants.status == "active"
                    )
                )
                active = found.first()
                grant = self._grant_record(cast(Grant, active)) if active is not None else None
        items: list[InboxItem] = []
        wait_until: datetime | None = None
        for row in rows:
            retry_at = aware(row.retry_at) if row.retry_at is not None else None
            if retry_at is not None and retry_at > when:
                wait_until = retry_at if wait_until is None else min(wait_until, retry_at)
                if strict_order:
                    break
                continue
            items.append(_inbox_item(row))
        return ConversationEvents(items, wait_until), grant

    async def conversation_commit(
        self, outcome: EventOutcome, page_id: str, psid: str, now: datetime, *, claim: bool
    ) -> ConversationSends:
        """Complete one event (guarded: :class:`StaleCompletion` if another run of the job
        got there first) and, with ``claim``, claim the conversation's due messages in the
        same transaction, which spares the turn a round trip."""
        async with self._tx(None) as tx:
            await self.inbox_complete([outcome], guarded=True, session=tx)
            if not claim or not psid:
                return ConversationSends([], 0, None)
            return await self._claim_sends(tx, page_id, psid, now, 100)

    async def conversation_sends(
        self, page_id: str, psid: str, now: datetime, limit: int = 100
    ) -> ConversationSends:
        """Claim the conversation's messages that are due, in order, up to the first one that
        waits for a retry (which holds back the rest): they become "sending"."""
        async with self._tx(None) as tx:
            return await self._claim_sends(tx, page_id, psid, now, limit)

    async def _claim_sends(
        self, session: AsyncSession, page_id: str, psid: str, now: datetime, limit: int
    ) -> ConversationSends:
        table = cast(Table, OutboxMessage.__table__)
        c = table.c
        # Messages this transaction has just queued are stamped after the caller's ``now``:
        # they are due all the same.
        when = max(aware(now), utcnow())
        query = (
            select(table)
            .where(c.page_id == page_id, c.psid == psid, c.status.in_(("pending", "sending")))
            .order_by(c.id)
            .limit(limit)
        )
        tx = await session.connection()
        rows = list((await tx.execute(query)).all())
        chosen: list[Any] = []
        wait_until: datetime | None = None
        for row in rows:
            if row.status == "pending" and aware(row.next_attempt_at) > when:
                wait_until = aware(row.next_attempt_at)
                break
            chosen.append(row)
        stale = [row.id for row in chosen if row.status == "sending"]
        fresh = [row.id for row in chosen if row.status == "pending"]
        if fresh:
            await tx.execute(update(table).where(c.id.in_(fresh)).values(status="sending"))
        if stale:
            await tx.execute(
                update(table)
                .where(c.id.in_(stale))
                .values(last_error="resent after a worker stopped: may be a duplicate")
            )
        items = [self._outbox_item(row, status="sending") for row in chosen]
        return ConversationSends(items, len(stale), wait_until)

    async def conversations_due(
        self, now: datetime, *, older_than: timedelta, limit: int = 1000
    ) -> list[tuple[str, str]]:
        """Conversations with an event or a message that has been due for ``older_than``
        without being handled: lost job deferrals, retries that came due, messages queued
        outside any event (a CLI retry, a token notice), and jobs of a worker that died."""
        when = aware(now)
        since = when - older_than
        inbox = cast(Table, InboxEvent.__table__).c
        outbox = cast(Table, OutboxMessage.__table__).c
        events = select(inbox.page_id, inbox.psid).where(
            inbox.status == "pending",
            or_(
                and_(inbox.retry_at.is_(None), inbox.received_at <= since),
                inbox.retry_at <= since,
            ),
        )
        sends = select(outbox.page_id, outbox.psid).where(
            or_(
                and_(outbox.status == "pending", outbox.next_attempt_at <= since),
                and_(outbox.status == "sending", outbox.created_at <= since),
            )
        )
        query = union(events, sends).limit(limit)
        async with self._db.read() as tx:
            connection = await tx.connection()
            rows = (await connection.execute(query)).all()
        return sorted({(row[0], row[1] or "") for row in rows})

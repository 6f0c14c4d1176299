"""Conversations' queues, for the distributed worker: a group of conversations' due events and
messages to send, and which conversations have work that no job may be holding (the sweeper's
question).

The queue engine runs one job per group of conversations at a time (a lock per group), so these
reads need no row locks of their own; what they guard against instead is a job that runs after
another job already finished the same rows (``inbox_complete(..., guarded=True)``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, func, or_, select, tuple_, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store.base import aware, utcnow
from botperms.store.completion import CompletionRepository
from botperms.store.effects import EventOutcome
from botperms.store.grants import GrantRepository
from botperms.store.inbox import _inbox_item
from botperms.store.models import Grant, InboxEvent, OutboxMessage, conversation_group
from botperms.store.records import GrantRecord, InboxItem, OutboxItem


@dataclass(frozen=True, slots=True)
class ConversationEvents:
    """``items``: due events, oldest first. ``wait_until``: when the conversation's next event
    becomes due (a retry), if it has one that is not due yet."""

    items: list[InboxItem]
    wait_until: datetime | None


@dataclass(frozen=True, slots=True)
class Commit:
    """One event's outcome to commit; ``claim``: also claim its conversation's messages."""

    outcome: EventOutcome
    page_id: str
    psid: str
    claim: bool


@dataclass(frozen=True, slots=True)
class ConversationSends:
    """``items``: messages to send now, in order. ``ambiguous``: how many of them were left
    "sending" by a job that did not finish (its worker died): they may already be in the chat.
    ``wait_until``: when the next message waiting for a retry becomes due."""

    items: list[OutboxItem]
    ambiguous: int
    wait_until: datetime | None


def _conversations(
    page: Any, person: Any, conversations: Sequence[tuple[str, str]]
) -> ColumnElement[bool]:
    if len(conversations) == 1:
        return and_(page == conversations[0][0], person == conversations[0][1])
    return cast(ColumnElement[bool], tuple_(page, person).in_(list(conversations)))


@dataclass(frozen=True, slots=True)
class ConversationWork:
    """One conversation's due work in a group: its due ``events`` (oldest first, with when a
    waiting one comes due), the person's active ``grant``, and whether it has messages due to
    send (``sends_due``: queued outside any event, retries come due, or left "sending" by a
    worker that died)."""

    page_id: str
    psid: str
    events: ConversationEvents
    grant: GrantRecord | None
    sends_due: bool


@dataclass(frozen=True, slots=True)
class GroupWork:
    """A group's due work, conversation by conversation (in the order of their oldest event).
    ``full``: the read stopped at its limits, so more may be due."""

    conversations: list[ConversationWork]
    full: bool


class ConversationRepository(CompletionRepository, GrantRepository):
    async def group_read(
        self,
        page_id: str,
        group: int,
        now: datetime,
        *,
        limit: int,
        per_conversation: int,
        strict_order: bool = True,
    ) -> GroupWork:
        """The due work of one group of a page's conversations (``conversation_group``), in
        one read: at most ``per_conversation`` pending events of each conversation and
        ``limit`` in all, the grants of the people they are from, and the conversations
        with messages due. ``strict_order``: an event waiting for its retry holds back the
        ones after it."""
        table = cast(Table, InboxEvent.__table__)
        c = table.c
        outbox = cast(Table, OutboxMessage.__table__).c
        when = aware(now)
        # At most ``per_conversation`` each, so a busy conversation cannot crowd out the rest.
        rank = (
            func.row_number().over(partition_by=c.psid, order_by=(c.event_time, c.id)).label("rank")
        )
        ranked = (
            select(table, rank)
            .where(c.status == "pending", c.page_id == page_id, c.conversation_group == group)
            .subquery()
        )
        events = (
            select(ranked)
            .where(ranked.c.rank <= per_conversation)
            .order_by(ranked.c.event_time, ranked.c.id)
            .limit(limit)
        )
        sends = (
            select(outbox.psid)
            .where(
                outbox.status.in_(("pending", "sending")),
                outbox.page_id == page_id,
                outbox.conversation_group == group,
                or_(outbox.status == "sending", outbox.next_attempt_at <= when),
            )
            .distinct()
        )
        grants: dict[str, GrantRecord] = {}
        async with self._db.read() as tx:
            connection = await tx.connection()
            rows = (await connection.execute(events)).all()
            with_sends = {row[0] for row in await connection.execute(sends)}
            people = sorted({row.psid for row in rows if row.psid})
            if people:
                # Core, not the ORM: this runs for every job, hundreds of times a second.
                g = cast(Table, Grant.__table__)
                found = await connection.execute(
                    select(g).where(
                        g.c.page_id == page_id, g.c.psid.in_(people), g.c.status == "active"
                    )
                )
                for active in found.all():
                    grants[active.psid] = self._grant_record(cast(Grant, active))
        by_person: dict[str, list[Any]] = {}
        for row in rows:
            by_person.setdefault(row.psid or "", []).append(row)
        full = len(rows) == limit or any(len(v) == per_conversation for v in by_person.values())
        work: list[ConversationWork] = []
        for psid, found_rows in by_person.items():
            items: list[InboxItem] = []
            wait_until: datetime | None = None
            for row in found_rows:
                retry_at = aware(row.retry_at) if row.retry_at is not None else None
                if retry_at is not None and retry_at > when:
                    wait_until = retry_at if wait_until is None else min(wait_until, retry_at)
                    if strict_order:
                        break
                    continue
                items.append(_inbox_item(row))
            events_of = ConversationEvents(items, wait_until)
            work.append(
                ConversationWork(page_id, psid, events_of, grants.get(psid), psid in with_sends)
            )
        for psid in sorted(with_sends - set(by_person)):
            work.append(ConversationWork(page_id, psid, ConversationEvents([], None), None, True))
        return GroupWork(work, full)

    async def conversation_commit_many(
        self, commits: Sequence[Commit], now: datetime
    ) -> list[ConversationSends]:
        """Complete each turn's event (guarded: :class:`StaleCompletion` if another run of a
        job got there first) and claim the due messages of the conversations whose commit
        asks for it, for several turns in one transaction (the worker's group commit). A
        stale event fails the whole batch, so the caller retries its items one by one."""
        async with self._tx(None) as tx:
            await self.inbox_complete([c.outcome for c in commits], guarded=True, session=tx)
            wanted = sorted({(c.page_id, c.psid) for c in commits if c.claim and c.psid})
            claimed = await self._claim_sends(tx, wanted, now, 100) if wanted else {}
        empty = ConversationSends([], 0, None)
        return [claimed.get((c.page_id, c.psid), empty) if c.claim else empty for c in commits]

    async def conversation_sends(
        self, conversations: Sequence[tuple[str, str]], now: datetime, limit: int = 100
    ) -> dict[tuple[str, str], ConversationSends]:
        """Claim each conversation's messages that are due, in order, up to the first one
        that waits for a retry (which holds back the rest): they become "sending". One
        transaction for all of them."""
        async with self._tx(None) as tx:
            return await self._claim_sends(tx, sorted(set(conversations)), now, limit)

    async def _claim_sends(
        self,
        session: AsyncSession,
        conversations: Sequence[tuple[str, str]],
        now: datetime,
        limit: int,
    ) -> dict[tuple[str, str], ConversationSends]:
        table = cast(Table, OutboxMessage.__table__)
        c = table.c
        # Messages this transaction has just queued are stamped after the caller's ``now``:
        # they are due all the same.
        when = max(aware(now), utcnow())
        query = (
            select(table)
            .where(
                _conversations(c.page_id, c.psid, conversations),
                c.status.in_(("pending", "sending")),
            )
            .order_by(c.id)
            .limit(limit * len(conversations))
        )
        tx = await session.connection()
        by_conversation: dict[tuple[str, str], list[Any]] = {}
        for row in (await tx.execute(query)).all():
            by_conversation.setdefault((row.page_id, row.psid), []).append(row)
        result: dict[tuple[str, str], ConversationSends] = {}
        fresh: list[int] = []
        stale: list[int] = []
        for conversation, rows in by_conversation.items():
            chosen: list[Any] = []
            wait_until: datetime | None = None
            for row in rows[:limit]:
                if row.status == "pending" and aware(row.next_attempt_at) > when:
                    wait_until = aware(row.next_attempt_at)
                    break
                chosen.append(row)
            ambiguous = [row.id for row in chosen if row.status == "sending"]
            stale += ambiguous
            fresh += [row.id for row in chosen if row.status == "pending"]
            items = [self._outbox_item(row, status="sending") for row in chosen]
            result[conversation] = ConversationSends(items, len(ambiguous), wait_until)
        if fresh:
            await tx.execute(update(table).where(c.id.in_(fresh)).values(status="sending"))
        if stale:
            await tx.execute(
                update(table)
                .where(c.id.in_(stale))
                .values(last_error="resent after a worker stopped: may be a duplicate")
            )
        return result

    async def conversation_groups_fill(self, limit: int = 1000) -> int:
        """Give waiting rows that have no group theirs, and return how many there were.

        Every insert here sets the group; a row without one was written by a replica of the
        version before groups, still running during a rolling upgrade, and no turn would read
        it. The sweep calls this before it looks for due work."""
        tables = (
            (cast(Table, InboxEvent.__table__), ("pending",)),
            (cast(Table, OutboxMessage.__table__), ("pending", "sending")),
        )
        found: list[tuple[Table, str | None]] = []
        async with self._db.read() as tx:
            connection = await tx.connection()
            for table, statuses in tables:
                query = (
                    select(table.c.psid)
                    .where(table.c.status.in_(statuses), table.c.conversation_group.is_(None))
                    .distinct()
                    .limit(limit)
                )
                found += [(table, row[0]) for row in await connection.execute(query)]
        if not found:
            return 0
        filled = 0
        async with self._tx(None) as tx:
            connection = await tx.connection()
            for table, psid in found:
                person = table.c.psid.is_(None) if psid is None else table.c.psid == psid
                result = await connection.execute(
                    update(table)
                    .where(person, table.c.conversation_group.is_(None))
                    .values(conversation_group=conversation_group(psid))
                )
                filled += int(result.rowcount)
        return filled

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

"""The inbox: every accepted webhook event, deduplicated, claimed in per-conversation order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from botperms.store.base import Repository, aware, clip, utcnow
from botperms.store.models import InboxEvent
from botperms.store.records import InboxItem, NewInboxItem

# Events without a person (psid NULL) form one conversation per page; NULL never equals NULL,
# so conversations are compared on this stand-in instead.
_NO_PSID = ""


class InboxRepository(Repository):
    async def inbox_add(
        self, items: Sequence[NewInboxItem], *, session: AsyncSession | None = None
    ) -> int:
        """Store events in one transaction; already-known (page_id, event_key) are skipped.

        Returns how many were new. The webhook is acknowledged only after this returns.
        """
        if not items:
            return 0
        now = utcnow()
        rows = [
            {
                "event_key": item.event_key,
                "page_id": item.page_id,
                "psid": item.psid,
                "kind": item.kind,
                "payload": item.payload,
                "event_time": item.event_time,
                "received_at": now,
                "status": "pending",
                "attempts": 0,
            }
            for item in items
        ]
        # One multi-row statement: a delivery of many events costs one round trip.
        statement = (
            self._insert(InboxEvent)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["page_id", "event_key"])
        )
        async with self._tx(session) as tx:
            result = await tx.execute(statement)
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def inbox_claim(
        self, now: datetime, limit: int, *, session: AsyncSession | None = None
    ) -> list[InboxItem]:
        """Claim up to `limit` due events (status "processing"), ordered by (event_time, id).

        A conversation with an event already processing is skipped; within a conversation
        events are taken in order up to the first one whose retry is not yet due.
        """
        if limit <= 0:
            return []
        when = aware(now)
        async with self._tx(session) as tx:
            candidates = (await tx.execute(self._candidates(when, limit))).all()
            if not candidates:
                return []
            ids = [candidate.id for candidate in candidates]
            if self._db.dialect == "postgresql":
                # Another worker may hold some of these rows in its own uncommitted claim.
                # SKIP LOCKED leaves them to it; the re-check of status drops rows it already
                # committed as processing since our first read.
                locked = set(
                    await tx.scalars(
                        select(InboxEvent.id)
                        .where(InboxEvent.id.in_(ids), InboxEvent.status == "pending")
                        .with_for_update(skip_locked=True)
                    )
                )
            else:
                # SQLite transactions start IMMEDIATE: claimers are already one at a time.
                locked = set(ids)
            chosen: list[int] = []
            blocked: set[tuple[str, str]] = set()
            for candidate in candidates:
                conversation = (candidate.page_id, candidate.psid or _NO_PSID)
                if conversation in blocked:
                    continue
                if candidate.id not in locked:
                    # An earlier event of this conversation belongs to someone else now;
                    # taking a later one would break the conversation's order.
                    blocked.add(conversation)
                    continue
                chosen.append(candidate.id)
            if not chosen:
                return []
            rows = await tx.scalars(
                update(InboxEvent)
                .where(InboxEvent.id.in_(chosen))
                .values(status="processing", attempts=InboxEvent.attempts + 1)
                .returning(InboxEvent)
                .execution_options(populate_existing=True)
            )
            claimed = sorted(rows.all(), key=lambda row: (row.event_time, row.id))
            return [self._inbox_item(row) for row in claimed]

    def _candidates(self, when: datetime, limit: int) -> Select[Any]:
        not_due = case((InboxEvent.retry_at > when, 1), else_=0)
        ranked = (
            select(
                InboxEvent.id,
                InboxEvent.page_id,
                InboxEvent.psid,
                InboxEvent.event_time,
                # 1 once any event at or before this one in its conversation is waiting for a
                # retry: that event and everything after it must wait too.
                func.max(not_due)
                .over(
                    partition_by=(InboxEvent.page_id, func.coalesce(InboxEvent.psid, _NO_PSID)),
                    order_by=(InboxEvent.event_time, InboxEvent.id),
                    rows=(None, 0),
                )
                .label("waiting"),
            )
            .where(InboxEvent.status == "pending")
            .subquery()
        )
        busy = aliased(InboxEvent)
        in_progress = exists().where(
            busy.status == "processing",
            busy.page_id == ranked.c.page_id,
            func.coalesce(busy.psid, _NO_PSID) == func.coalesce(ranked.c.psid, _NO_PSID),
        )
        return (
            select(ranked.c.id, ranked.c.page_id, ranked.c.psid)
            .where(ranked.c.waiting == 0, ~in_progress)
            .order_by(ranked.c.event_time, ranked.c.id)
            .limit(limit)
        )

    async def inbox_recover(self, *, session: AsyncSession | None = None) -> int:
        """At start-up: events a crashed worker left "processing" go back to "pending"."""
        async with self._tx(session) as tx:
            result = await tx.execute(
                update(InboxEvent)
                .where(InboxEvent.status == "processing")
                .values(status="pending")
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def inbox_done(self, item_id: int, *, session: AsyncSession | None = None) -> None:
        async with self._tx(session) as tx:
            await tx.execute(
                update(InboxEvent)
                .where(InboxEvent.id == item_id)
                .values(status="done", processed_at=utcnow(), retry_at=None)
                .execution_options(synchronize_session=False)
            )

    async def inbox_failed(
        self,
        item_id: int,
        error: str,
        *,
        retry_at: datetime | None,
        session: AsyncSession | None = None,
    ) -> None:
        """Retry later (`retry_at`), or with `retry_at=None` park it as "failed" (dead letter)."""
        if retry_at is None:
            values: dict[str, Any] = {
                "status": "failed",
                "processed_at": utcnow(),
                "retry_at": None,
            }
        else:
            values = {"status": "pending", "retry_at": aware(retry_at)}
        async with self._tx(session) as tx:
            await tx.execute(
                update(InboxEvent)
                .where(InboxEvent.id == item_id)
                .values(last_error=clip(error), **values)
                .execution_options(synchronize_session=False)
            )

    async def inbox_release(
        self, item_ids: Sequence[int], *, session: AsyncSession | None = None
    ) -> None:
        """Claimed but not handled (an earlier event of its conversation failed): back to
        "pending" without counting the claim as an attempt."""
        if not item_ids:
            return
        async with self._tx(session) as tx:
            await tx.execute(
                update(InboxEvent)
                .where(InboxEvent.id.in_(list(item_ids)), InboxEvent.status == "processing")
                .values(status="pending", attempts=InboxEvent.attempts - 1)
                .execution_options(synchronize_session=False)
            )

    async def inbox_counts(self, *, session: AsyncSession | None = None) -> dict[str, int]:
        """How many events are in each status (for metrics and `botperms db`)."""
        async with self._tx(session) as tx:
            rows = await tx.execute(
                select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
            )
            return {status: int(count) for status, count in rows.all()}

    @staticmethod
    def _inbox_item(row: InboxEvent) -> InboxItem:
        return InboxItem(
            id=row.id,
            event_key=row.event_key,
            page_id=row.page_id,
            psid=row.psid,
            kind=row.kind,
            payload=row.payload,
            event_time=row.event_time,
            attempts=row.attempts,
        )

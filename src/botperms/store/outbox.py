"""The outbox: every message to send, with attempts, the next attempt and the last error.

A message is claimed ("sending") before its Send API call and finished ("sent", back to
"pending" for a retry, or "dead") after it, both in batches. The Send API has no idempotency
key, so a message still "sending" after a crash may or may not be in the chat: that is the one
window exactly-once cannot close, and ``outbox_recover`` counts it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store import sqlite_hot
from botperms.store.base import Repository, aware, clip, utcnow
from botperms.store.effects import Send
from botperms.store.models import InboxEvent, OutboxMessage, conversation_group
from botperms.store.records import OutboxItem

# What a person does that opens (or resets) Messenger's 24-hour window (contract §2.2).
PERSON_KINDS = ("message", "postback", "referral", "optin")


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """How one claimed message's try ended. ``status``: "sent", "pending" (retry at
    ``next_attempt_at``) or "dead"."""

    item_id: int
    status: str
    message_id: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


class OutboxRepository(Repository):
    async def outbox_add(
        self,
        page_id: str,
        psid: str,
        payload: dict[str, Any],
        *,
        messaging_type: str = "RESPONSE",
        tag: str | None = None,
        session: AsyncSession | None = None,
    ) -> int:
        """Queue one message (or sender action) outside any event; returns its id."""
        now = utcnow()
        row = OutboxMessage(
            page_id=page_id,
            psid=psid,
            payload=payload,
            messaging_type=messaging_type,
            tag=tag,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        async with self._tx(session) as tx:
            tx.add(row)
            await tx.flush()
            return row.id

    async def _outbox_insert(self, tx: AsyncSession, sends: Sequence[Send]) -> None:
        """Queue the messages a batch of handled events caused (one executemany)."""
        if not sends:
            return
        now = utcnow()
        rows = [
            {
                "page_id": send.page_id,
                "psid": send.psid,
                "conversation_group": conversation_group(send.psid),
                "payload": send.payload,
                "messaging_type": send.messaging_type,
                "tag": send.tag,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for send in sends
        ]
        # Core executemany of a cached statement: the ORM's bulk path costs more than the rows.
        connection = await tx.connection()
        await connection.execute(insert(cast(Table, OutboxMessage.__table__)), rows)

    async def outbox_claim(
        self,
        now: datetime,
        limit: int,
        *,
        exclude: Collection[tuple[str, str]] = (),
        exclude_pages: Collection[str] = (),
    ) -> list[OutboxItem]:
        """Mark due messages "sending" and return them: the oldest pending message of each
        conversation not in ``exclude`` (whose message is in flight), oldest first, leaving
        out the pages in ``exclude_pages`` (paused after a rate limit).

        Only a conversation's oldest pending message is offered, so a message waiting for a
        retry holds back the ones queued after it, and order within a conversation holds.
        """
        if limit <= 0:
            return []
        if self._db.lane is not None:
            return await self._db.lane.write(
                sqlite_hot.outbox_claim(aware(now), limit, exclude, exclude_pages)
            )
        table = cast(Table, OutboxMessage.__table__)
        column = table.c
        oldest = (
            select(func.min(column.id))
            .where(column.status.in_(("pending", "sending")))
            .group_by(column.page_id, column.psid)
        )
        query = (
            select(table)
            .where(column.id.in_(oldest))
            .where(column.status == "pending")
            .where(column.next_attempt_at <= aware(now))
            .order_by(column.id)
            .limit(limit + len(exclude))
        )
        if exclude_pages:
            query = query.where(column.page_id.not_in(sorted(exclude_pages)))
        async with self._tx(None) as session:
            tx = await session.connection()
            rows = [
                row
                for row in (await tx.execute(query)).all()
                if (row.page_id, row.psid) not in exclude
            ][:limit]
            if not rows:
                return []
            await tx.execute(
                update(table)
                .where(column.id.in_([row.id for row in rows]))
                .values(status="sending")
            )
            return [self._outbox_item(row, status="sending") for row in rows]

    async def outbox_finish(self, outcomes: Sequence[SendOutcome]) -> None:
        """Record a batch of finished tries in one transaction (each is one attempt)."""
        if not outcomes:
            return
        now = utcnow()
        if self._db.lane is not None:
            await self._db.lane.write(
                sqlite_hot.outbox_finish(
                    [(o.message_id, o.item_id) for o in outcomes if o.status == "sent"],
                    [
                        (o.status, clip(o.error or ""), aware(o.next_attempt_at or now), o.item_id)
                        for o in outcomes
                        if o.status != "sent"
                    ],
                    now,
                )
            )
            return
        sent = [
            {"b_id": o.item_id, "b_message_id": o.message_id, "b_sent_at": now}
            for o in outcomes
            if o.status == "sent"
        ]
        others = [
            {
                "b_id": o.item_id,
                "b_status": o.status,
                "b_error": clip(o.error or ""),
                "b_next": aware(o.next_attempt_at or now),
            }
            for o in outcomes
            if o.status != "sent"
        ]
        table = cast(Table, OutboxMessage.__table__)
        async with self._tx(None) as session:
            tx = await session.connection()
            if sent:
                await tx.execute(
                    update(table)
                    .where(table.c.id == bindparam("b_id"))
                    .values(
                        status="sent",
                        message_id=bindparam("b_message_id"),
                        sent_at=bindparam("b_sent_at"),
                        attempts=table.c.attempts + 1,
                    ),
                    sent,
                )
            if others:
                await tx.execute(
                    update(table)
                    .where(table.c.id == bindparam("b_id"))
                    .values(
                        status=bindparam("b_status"),
                        last_error=bindparam("b_error"),
                        next_attempt_at=bindparam("b_next"),
                        attempts=table.c.attempts + 1,
                    ),
                    others,
                )

    async def outbox_release(self, ids: Sequence[int]) -> None:
        """Claimed messages that were not tried (one before them waits for a retry) go back
        to "pending", with no attempt counted."""
        if not ids:
            return
        async with self._tx(None) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.status == "sending")
                .values(status="pending")
                .execution_options(synchronize_session=False)
            )

    async def outbox_recover(self) -> int:
        """At start-up: messages a crash left "sending" go back to "pending" and are sent
        again. Their first try may have reached the chat (the ambiguous window); returns how
        many there were, for the log and the metric."""
        async with self._tx(None) as tx:
            result = await tx.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "sending")
                .values(status="pending", last_error="resent after a restart: may be a duplicate")
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def outbox_list(
        self, *, status: str | None = None, session: AsyncSession | None = None
    ) -> list[OutboxItem]:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if status is not None:
            query = query.where(OutboxMessage.status == status)
        async with self._tx(session) as tx:
            rows = await tx.scalars(query.execution_options(populate_existing=True))
            return [self._outbox_item(row) for row in rows]

    async def outbox_requeue(
        self, ids: Sequence[int], *, now: datetime, window: timedelta
    ) -> dict[int, str]:
        """Send dead letters again: each id's outcome, "requeued" or why not. A message that
        is not tagged can only go out while the person's last message is younger than
        ``window`` (Messenger's 24-hour window); Facebook would refuse it otherwise."""
        table = cast(Table, OutboxMessage.__table__)
        inbox = cast(Table, InboxEvent.__table__)
        results: dict[int, str] = {}
        async with self._tx(None) as session:
            tx = await session.connection()
            rows = {
                row.id: row
                for row in (await tx.execute(select(table).where(table.c.id.in_(ids)))).all()
            }
            for item_id in ids:
                row = rows.get(item_id)
                if row is None:
                    results[item_id] = "unknown id"
                    continue
                if row.status != "dead":
                    results[item_id] = f"not a dead letter ({row.status})"
                    continue
                if row.messaging_type != "MESSAGE_TAG":
                    last = await tx.scalar(
                        select(func.max(inbox.c.event_time)).where(
                            inbox.c.page_id == row.page_id,
                            inbox.c.psid == row.psid,
                            inbox.c.kind.in_(PERSON_KINDS),
                        )
                    )
                    cutoff = int((aware(now) - window).timestamp() * 1000)
                    if last is None or last < cutoff:
                        results[item_id] = "outside the 24-hour window: the person must write first"
                        continue
                await tx.execute(
                    update(table)
                    .where(table.c.id == item_id)
                    .values(status="pending", next_attempt_at=aware(now), attempts=0)
                )
                results[item_id] = "requeued"
        return results

    async def outbox_drop(self, ids: Sequence[int]) -> int:
        """Forget messages that are waiting or dead (not one being sent); returns how many."""
        table = cast(Table, OutboxMessage.__table__)
        async with self._tx(None) as session:
            tx = await session.connection()
            result = await tx.execute(
                delete(table).where(table.c.id.in_(ids), table.c.status.in_(("pending", "dead")))
            )
            return int(result.rowcount)

    async def outbox_counts(self) -> dict[str, int]:
        async with self._db.read() as tx:
            rows = await tx.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
            return {status: int(count) for status, count in rows.all()}

    @staticmethod
    def _outbox_item(row: Any, *, status: str | None = None) -> OutboxItem:
        """From an ORM row or a Core row: both have the columns as attributes."""
        return OutboxItem(
            id=row.id,
            page_id=row.page_id,
            psid=row.psid,
            payload=row.payload,
            messaging_type=row.messaging_type,
            tag=row.tag,
            attempts=row.attempts,
            status=status or row.status,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            message_id=row.message_id,
            created_at=row.created_at,
        )

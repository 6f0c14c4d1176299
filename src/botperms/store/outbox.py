"""The outbox: every message to send, with attempts, the next attempt and the last error."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store.base import Repository, aware, clip, utcnow
from botperms.store.models import OutboxMessage
from botperms.store.records import OutboxItem


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
        """Queue a message (or sender action) for the person; returns its id."""
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

    async def outbox_due(
        self, now: datetime, limit: int, *, session: AsyncSession | None = None
    ) -> list[OutboxItem]:
        """Pending messages due at `now`, by id, at most one per conversation (its oldest).

        Only the oldest pending message of a (page_id, psid) is ever offered, so a message
        waiting for a retry holds back the ones queued after it.
        """
        oldest = (
            select(func.min(OutboxMessage.id))
            .where(OutboxMessage.status == "pending")
            .group_by(OutboxMessage.page_id, OutboxMessage.psid)
        )
        async with self._tx(session) as tx:
            rows = await tx.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id.in_(oldest))
                .where(OutboxMessage.next_attempt_at <= aware(now))
                .order_by(OutboxMessage.id)
                .limit(limit)
                .execution_options(populate_existing=True)
            )
            return [self._outbox_item(row) for row in rows]

    async def outbox_sent(
        self, item_id: int, message_id: str | None, *, session: AsyncSession | None = None
    ) -> None:
        await self._finish_try(
            item_id, session, status="sent", sent_at=utcnow(), message_id=message_id
        )

    async def outbox_retry(
        self,
        item_id: int,
        error: str,
        next_attempt_at: datetime,
        *,
        session: AsyncSession | None = None,
    ) -> None:
        await self._finish_try(
            item_id, session, last_error=clip(error), next_attempt_at=aware(next_attempt_at)
        )

    async def outbox_dead(
        self, item_id: int, error: str, *, session: AsyncSession | None = None
    ) -> None:
        """Give up on the message for good (the dead letter keeps the reason)."""
        await self._finish_try(item_id, session, status="dead", last_error=clip(error))

    async def outbox_list(
        self, *, status: str | None = None, session: AsyncSession | None = None
    ) -> list[OutboxItem]:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if status is not None:
            query = query.where(OutboxMessage.status == status)
        async with self._tx(session) as tx:
            rows = await tx.scalars(query.execution_options(populate_existing=True))
            return [self._outbox_item(row) for row in rows]

    async def _finish_try(self, item_id: int, session: AsyncSession | None, **values: Any) -> None:
        # Every outcome of a send (sent, retry later, dead) is one attempt made.
        async with self._tx(session) as tx:
            await tx.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == item_id)
                .values(attempts=OutboxMessage.attempts + 1, **values)
                .execution_options(synchronize_session=False)
            )

    @staticmethod
    def _outbox_item(row: OutboxMessage) -> OutboxItem:
        return OutboxItem(
            id=row.id,
            page_id=row.page_id,
            psid=row.psid,
            payload=row.payload,
            messaging_type=row.messaging_type,
            tag=row.tag,
            attempts=row.attempts,
            status=row.status,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            message_id=row.message_id,
        )

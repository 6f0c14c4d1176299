"""What the queue gauges show: depth by status, the oldest waiting item, dead letters per page.

Every query here reads only the rows still in play (pending, in hand, dead) through the status
indexes, never the done ones, so it stays cheap however many rows housekeeping keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from botperms.store.base import Repository, aware
from botperms.store.models import InboxEvent, OutboxMessage

INBOX_OPEN = ("pending", "processing", "failed")
OUTBOX_OPEN = ("pending", "sending", "dead")


@dataclass(frozen=True)
class QueueStats:
    """``inbox``: status → events; ``outbox``: (status, page) → messages; ``oldest_pending``:
    queue → seconds the oldest pending item has waited (0 when none waits)."""

    inbox: dict[str, int]
    outbox: dict[tuple[str, str], int]
    oldest_pending: dict[str, float]

    def dead_letters(self) -> dict[str, int]:
        """Page → dead messages."""
        return {page: n for (status, page), n in self.outbox.items() if status == "dead"}


class QueueStatsRepository(Repository):
    async def queue_stats(self, *, now: datetime) -> QueueStats:
        when = aware(now)
        async with self._db.read() as tx:
            inbox_rows = await tx.execute(
                select(InboxEvent.status, func.count())
                .where(InboxEvent.status.in_(INBOX_OPEN))
                .group_by(InboxEvent.status)
            )
            inbox = {status: int(n) for status, n in inbox_rows.all()}
            outbox_rows = await tx.execute(
                select(OutboxMessage.status, OutboxMessage.page_id, func.count())
                .where(OutboxMessage.status.in_(OUTBOX_OPEN))
                .group_by(OutboxMessage.status, OutboxMessage.page_id)
            )
            outbox = {(status, page): int(n) for status, page, n in outbox_rows.all()}
            # The oldest pending event by its (indexed) event time; the oldest pending message
            # is the one with the smallest id (ids grow with time), found on (status, id).
            oldest_event = await tx.scalar(
                select(func.min(InboxEvent.event_time)).where(InboxEvent.status == "pending")
            )
            oldest_message = await tx.scalar(
                select(OutboxMessage.created_at)
                .where(OutboxMessage.status == "pending")
                .order_by(OutboxMessage.id)
                .limit(1)
            )
        oldest = {"inbox": 0.0, "outbox": 0.0}
        if oldest_event is not None:
            oldest["inbox"] = max(0.0, when.timestamp() - oldest_event / 1000)
        if oldest_message is not None:
            oldest["outbox"] = max(0.0, (when - aware(oldest_message)).total_seconds())
        return QueueStats(inbox=inbox, outbox=outbox, oldest_pending=oldest)

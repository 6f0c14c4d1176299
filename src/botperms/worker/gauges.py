"""The queue gauges, refreshed from the store every few seconds rather than per event: the
pipeline handles thousands of events a second, and a scrape every 15 s or so needs no more."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from botperms.metrics import DEAD_LETTERS, INBOX_DEPTH, OLDEST_PENDING, OUTBOX_DEPTH
from botperms.store import QueueStats
from botperms.store.queue_stats import INBOX_OPEN
from botperms.worker.loop import WakeableLoop


def _now() -> datetime:
    return datetime.now(UTC)


class StatsStore(Protocol):
    async def queue_stats(self, *, now: datetime) -> QueueStats: ...


class QueueGauges:
    """Sets ``botperms_inbox_depth``, ``botperms_outbox_depth``,
    ``botperms_oldest_pending_seconds`` and ``botperms_dead_letters`` every ``interval``.

    ``pages``: pages whose series exist from the start (at 0), so an alert on a page's dead
    letters has a series to watch before the first one dies. A page or status that empties
    later goes back to 0 rather than vanishing.
    """

    def __init__(
        self,
        store: StatsStore,
        *,
        interval: float = 5.0,
        pages: frozenset[str] = frozenset(),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.store = store
        self._clock = clock
        self._outbox_seen: set[tuple[str, str]] = {("dead", page) for page in pages}
        self._dead_seen: set[str] = set(pages)
        self.loop = WakeableLoop("queue_gauges", self._pass, interval)

    async def refresh(self) -> QueueStats:
        stats = await self.store.queue_stats(now=self._clock())
        for status in INBOX_OPEN:
            INBOX_DEPTH.labels(status=status).set(stats.inbox.get(status, 0))
        self._outbox_seen |= stats.outbox.keys()
        for status, page in self._outbox_seen:
            OUTBOX_DEPTH.labels(status=status, page=page).set(stats.outbox.get((status, page), 0))
        dead = stats.dead_letters()
        self._dead_seen |= dead.keys()
        for page in self._dead_seen:
            DEAD_LETTERS.labels(page=page).set(dead.get(page, 0))
        for queue, seconds in stats.oldest_pending.items():
            OLDEST_PENDING.labels(queue=queue).set(seconds)
        return stats

    async def _pass(self) -> bool:
        await self.refresh()
        return False

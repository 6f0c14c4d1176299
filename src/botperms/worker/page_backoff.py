"""Per-page backoff of the Send API: a rate-limited page pauses, the other pages keep sending.

Facebook's Send API limits are per page (contract §9: codes 613, 32, 4, 17, 80006 …), so one
page hitting its limit must not hold up the others: its pending messages are left unclaimed
until the pause ends. The pause is written to the shared store (``page_backoff``), so every
worker process respects it, and read back at most every ``refresh_seconds``. Each rate limit in
a row doubles the pause (from ``base`` up to ``cap`` seconds; Facebook's ``Retry-After`` or
usage-header hint is honoured when longer); a send that goes through ends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog
from prometheus_client import Counter

from botperms.metrics import REGISTRY
from botperms.store import PagePause, StoreError

log = structlog.get_logger(__name__)

PAGE_PAUSES = Counter(
    "botperms_page_pauses",
    "Times a page's sends were paused after a Send API rate limit.",
    registry=REGISTRY,
)


def _now() -> datetime:
    return datetime.now(UTC)


class PauseStore(Protocol):
    async def page_pause(
        self, page_id: str, *, until: datetime, strikes: int, reason: str | None
    ) -> None: ...

    async def page_resume(self, page_id: str) -> None: ...

    async def page_pauses(self) -> list[PagePause]: ...


class PageBackoff:
    """Which pages may send now. ``store`` None keeps the pauses in this process only."""

    def __init__(
        self,
        store: PauseStore | None,
        *,
        base: float = 1.0,
        cap: float = 300.0,
        refresh_seconds: float = 1.0,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self.base = base
        self.cap = cap
        self._refresh = timedelta(seconds=refresh_seconds)
        self._clock = clock
        self._pauses: dict[str, PagePause] = {}
        self._read_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def paused_pages(self) -> frozenset[str]:
        """The pages whose sends wait now (the outbox leaves their messages unclaimed)."""
        await self._sync()
        now = self._clock()
        return frozenset(page for page, pause in self._pauses.items() if pause.paused_until > now)

    def paused_until(self, page_id: str) -> datetime | None:
        pause = self._pauses.get(page_id)
        if pause is None or pause.paused_until <= self._clock():
            return None
        return pause.paused_until

    async def rate_limited(
        self, page_id: str, *, retry_after: float | None, reason: str | None = None
    ) -> datetime:
        """Record a rate limit of ``page_id``; returns when its sends may start again."""
        now = self._clock()
        previous = self._pauses.get(page_id)
        if previous is not None and previous.paused_until > now:
            # Sends already in flight when the limit hit: the same pause, not a new strike.
            strikes = previous.strikes
            wait = max(self._wait(strikes), retry_after or 0.0)
            until = max(previous.paused_until, now + timedelta(seconds=wait))
        else:
            strikes = (previous.strikes if previous is not None else 0) + 1
            wait = max(self._wait(strikes), retry_after or 0.0)
            until = now + timedelta(seconds=wait)
            PAGE_PAUSES.inc()
            log.warning("outbox.page_paused", page_id=page_id, seconds=round(wait, 1))
        self._pauses[page_id] = PagePause(page_id, until, strikes, reason)
        if self._store is not None:
            try:
                await self._store.page_pause(page_id, until=until, strikes=strikes, reason=reason)
            except StoreError as exc:
                # This process still pauses; the others find out from their own sends.
                log.warning("outbox.page_pause_unshared", page_id=page_id, error=str(exc))
        return until

    async def succeeded(self, page_id: str) -> None:
        """A send of ``page_id`` went through: forget its strikes (no store write otherwise)."""
        if self._pauses.pop(page_id, None) is None or self._store is None:
            return
        try:
            await self._store.page_resume(page_id)
        except StoreError as exc:
            log.warning("outbox.page_resume_unshared", page_id=page_id, error=str(exc))

    def _wait(self, strikes: int) -> float:
        return float(min(self.cap, self.base * 2.0 ** (strikes - 1)))

    async def _sync(self) -> None:
        if self._store is None:
            return
        now = self._clock()
        if self._read_at is not None and now - self._read_at < self._refresh:
            return
        async with self._lock:
            if self._read_at is not None and self._clock() - self._read_at < self._refresh:
                return
            try:
                stored = await self._store.page_pauses()
            except StoreError as exc:
                log.warning("outbox.page_pauses_unread", error=str(exc))
                stored = list(self._pauses.values())
            self._pauses = {pause.page_id: pause for pause in stored}
            self._read_at = self._clock()

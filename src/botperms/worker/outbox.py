"""Sends queued messages through the Send API: concurrently across conversations and in order
within one (a conversation's next message is claimed only once the previous one's try is
recorded), with a bound on the sends in flight, retries for transient Graph errors, waits for
rate limits, and a dead letter (with the reason) for what cannot succeed.

Sender actions (the typing indicator, mark_seen) share the queue so they stay in order with the
messages around them, but they get one try only: a typing indicator shown a minute late is
wrong, and one waiting for its retry would hold back the real messages behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import structlog

from botperms.metrics import OUTBOX, inc
from botperms.store import Batcher, OutboxItem, SendOutcome, Store, StoreError
from botperms.worker.backlog import Backlog
from botperms.worker.loop import WakeableLoop
from botperms.worker.page_backoff import PageBackoff
from botperms.worker.sending import SendFateUnknown

log = structlog.get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class Tries(Protocol):
    """What makes the tries: a :class:`~botperms.worker.sending.Sender` in this process, or
    the web half's through the relay (worker/remote_sending.py)."""

    backoff: PageBackoff

    async def attempt(self, item: OutboxItem) -> SendOutcome: ...


class OutboxWorker:
    """Drains the outbox with up to ``max_in_flight`` sends at once, one per conversation."""

    def __init__(
        self,
        store: Store,
        sender: Tries,
        *,
        max_in_flight: int = 64,
        idle: float = 1.0,
        clock: Callable[[], datetime] = _now,
        backlog: Backlog | None = None,
    ) -> None:
        """``backlog``: told of every message that is sent or dead (the intake's
        backpressure counts messages not sent yet)."""
        self.store = store
        self.sender = sender
        self.backlog = backlog
        self.max_in_flight = max_in_flight
        self._refill = max(1, max_in_flight // 4)
        self._clock = clock
        self._in_flight: dict[tuple[str, str], asyncio.Task[None]] = {}
        self.finishes: Batcher[SendOutcome, None] = Batcher(
            "outbox_finish", self._record, max_batch=500
        )
        self.loop = WakeableLoop("outbox", self.run_once, idle)

    async def _record(self, outcomes: Sequence[SendOutcome]) -> list[None]:
        await self.store.outbox_finish(outcomes)
        return [None] * len(outcomes)

    async def run_once(self) -> bool:
        """Claim and start what is due; True when it started something."""
        free = self.max_in_flight - len(self._in_flight)
        if free <= 0 or (self._in_flight and free < self._refill):
            # Woken again when sends finish: a claim is a write transaction, so one claim
            # for a few places cost more than the sends (measured in `make bench`).
            return False
        # A page paused after a rate limit keeps its messages; the other pages go on.
        paused = await self.sender.backoff.paused_pages()
        items = await self.store.outbox_claim(
            self._clock(), free, exclude=self._in_flight.keys(), exclude_pages=paused
        )
        for item in items:
            task = asyncio.create_task(self._send(item), name=f"outbox:{item.id}")
            self._in_flight[(item.page_id, item.psid)] = task
        return bool(items)

    async def _send(self, item: OutboxItem) -> None:
        try:
            try:
                outcome = await self.sender.attempt(item)
            except SendFateUnknown as exc:
                # Left "sending": this process stops, and its restart resends it.
                log.error("outbox.fate_unknown", item_id=item.id, error=str(exc))
                return
            try:
                await self.finishes.submit(outcome)
            except StoreError as exc:
                # Still "sending" in the store: it is resent after a restart (and counted then).
                log.error("outbox.record_failed", item_id=item.id, error=str(exc))
                return
            inc(OUTBOX, outcome.status if outcome.status != "pending" else "retry")
            if self.backlog is not None and outcome.status != "pending":
                self.backlog.finished()
        finally:
            self._in_flight.pop((item.page_id, item.psid), None)
            self.loop.wake()

    async def drain(self) -> None:
        """Wait for the sends in flight (at shutdown), so none is left "sending"."""
        tasks = list(self._in_flight.values())
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.finishes.close()

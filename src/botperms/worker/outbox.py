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
from datetime import UTC, datetime, timedelta

import structlog

from botperms.graph import (
    GraphClient,
    GraphError,
    RateLimitedError,
    is_sender_action,
    send_action,
    send_message,
)
from botperms.metrics import OUTBOX
from botperms.store import Batcher, OutboxItem, SendOutcome, Store, StoreError
from botperms.worker.backoff import delay
from botperms.worker.loop import WakeableLoop

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 8


def _now() -> datetime:
    return datetime.now(UTC)


class OutboxWorker:
    """Drains the outbox with up to ``max_in_flight`` sends at once, one per conversation."""

    def __init__(
        self,
        store: Store,
        graph: GraphClient,
        page_token: str,
        *,
        max_in_flight: int = 64,
        idle: float = 1.0,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.store = store
        self.graph = graph
        self.page_token = page_token
        self.max_in_flight = max_in_flight
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
        if free <= 0:
            return False  # woken again when a send finishes
        items = await self.store.outbox_claim(self._clock(), free, exclude=self._in_flight.keys())
        for item in items:
            task = asyncio.create_task(self._send(item), name=f"outbox:{item.id}")
            self._in_flight[(item.page_id, item.psid)] = task
        return bool(items)

    async def _send(self, item: OutboxItem) -> None:
        try:
            outcome = await self._try(item)
            try:
                await self.finishes.submit(outcome)
            except StoreError as exc:
                # Still "sending" in the store: it is resent after a restart (and counted then).
                log.error("outbox.record_failed", item_id=item.id, error=str(exc))
                return
            OUTBOX.labels(outcome.status if outcome.status != "pending" else "retry").inc()
        finally:
            self._in_flight.pop((item.page_id, item.psid), None)
            self.loop.wake()

    async def _try(self, item: OutboxItem) -> SendOutcome:
        try:
            message_id = await self._deliver(item)
        except GraphError as exc:
            return self._failed(item, exc)
        except ValueError as exc:
            # Refused before the network (bad messaging_type, tag or sender action): no
            # retry can fix it.
            log.warning("outbox.dead", item_id=item.id, psid=item.psid, reason=str(exc))
            return SendOutcome(item.id, "dead", error=f"invalid message: {exc}"[:500])
        return SendOutcome(item.id, "sent", message_id=message_id)

    async def _deliver(self, item: OutboxItem) -> str | None:
        action = item.payload.get("sender_action")
        if action is not None:
            if not is_sender_action(action):
                raise ValueError(f"sender action {action!r} is not one the Send API knows")
            await send_action(self.graph, self.page_token, item.psid, action)
            return None
        result = await send_message(
            self.graph,
            self.page_token,
            item.psid,
            item.payload,
            messaging_type=item.messaging_type,
            tag=item.tag,
        )
        return result.message_id

    def _failed(self, item: OutboxItem, exc: GraphError) -> SendOutcome:
        attempts = item.attempts + 1
        reason = str(exc)[:500]
        if "sender_action" in item.payload:
            log.info("outbox.action_dropped", item_id=item.id, psid=item.psid, code=exc.code)
            return SendOutcome(item.id, "dead", error=f"sender action not retried: {reason}"[:500])
        if not exc.retryable or attempts >= MAX_ATTEMPTS:
            log.warning(
                "outbox.dead", item_id=item.id, psid=item.psid, code=exc.code, reason=reason
            )
            return SendOutcome(item.id, "dead", error=reason)
        wait = delay(attempts)
        if isinstance(exc, RateLimitedError) and exc.retry_after:
            wait = max(wait, exc.retry_after)
        log.info("outbox.retry", item_id=item.id, code=exc.code, attempts=attempts, wait=wait)
        return SendOutcome(
            item.id,
            "pending",
            error=reason,
            next_attempt_at=self._clock() + timedelta(seconds=wait),
        )

    async def drain(self) -> None:
        """Wait for the sends in flight (at shutdown), so none is left "sending"."""
        tasks = list(self._in_flight.values())
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.finishes.close()

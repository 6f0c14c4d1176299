"""Sends queued messages through the Send API: in order per conversation, with retries for
transient Graph errors, waits for rate limits, and a dead letter (with the reason) for what
cannot succeed.

Sender actions (the typing indicator, mark_seen) share the queue so they stay in order with the
messages around them, but they get one try only: a typing indicator shown a minute late is
wrong, and one waiting for its retry would hold back the real messages behind it.
"""

from __future__ import annotations

import asyncio
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
from botperms.store import OutboxItem, Store
from botperms.worker.backoff import delay
from botperms.worker.loop import WakeableLoop

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 8


class OutboxWorker:
    """Drains the outbox: each pass sends the oldest due item of every conversation."""

    def __init__(
        self,
        store: Store,
        graph: GraphClient,
        page_token: str,
        *,
        batch: int = 50,
        concurrency: int = 8,
        idle: float = 1.0,
    ) -> None:
        self.store = store
        self.graph = graph
        self.page_token = page_token
        self.batch = batch
        self._limit = asyncio.Semaphore(concurrency)
        self.loop = WakeableLoop("outbox", self.run_once, idle)

    async def run_once(self) -> bool:
        """One pass; True when there was something to send (the loop runs again at once)."""
        items = await self.store.outbox_due(datetime.now(UTC), self.batch)
        if not items:
            return False
        # Wait for every send before ending the pass, even when one fails: a send still in
        # flight is still "pending", and the next pass would send it a second time.
        results = await asyncio.gather(
            *(self._send(item) for item in items), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return True

    async def _send(self, item: OutboxItem) -> None:
        async with self._limit:
            try:
                message_id = await self._deliver(item)
            except GraphError as exc:
                await self._failed(item, exc)
                return
            except ValueError as exc:
                # Refused before the network (bad messaging_type, tag or sender action): no
                # retry can fix it, and raising would leave it due on every pass.
                log.warning("outbox.dead", item_id=item.id, psid=item.psid, reason=str(exc))
                await self.store.outbox_dead(item.id, f"invalid message: {exc}"[:500])
                OUTBOX.labels("dead").inc()
                return
            await self.store.outbox_sent(item.id, message_id)
            OUTBOX.labels("sent").inc()

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

    async def _failed(self, item: OutboxItem, exc: GraphError) -> None:
        attempts = item.attempts + 1
        reason = str(exc)[:500]
        if "sender_action" in item.payload:
            log.info("outbox.action_dropped", item_id=item.id, psid=item.psid, code=exc.code)
            await self.store.outbox_dead(item.id, f"sender action not retried: {reason}"[:500])
            OUTBOX.labels("dead").inc()
            return
        if not exc.retryable or attempts >= MAX_ATTEMPTS:
            log.warning(
                "outbox.dead", item_id=item.id, psid=item.psid, code=exc.code, reason=reason
            )
            await self.store.outbox_dead(item.id, reason)
            OUTBOX.labels("dead").inc()
            return
        wait = delay(attempts)
        if isinstance(exc, RateLimitedError) and exc.retry_after:
            wait = max(wait, exc.retry_after)
        log.info("outbox.retry", item_id=item.id, code=exc.code, attempts=attempts, wait=wait)
        await self.store.outbox_retry(item.id, reason, datetime.now(UTC) + timedelta(seconds=wait))
        OUTBOX.labels("retry").inc()

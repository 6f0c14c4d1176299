"""Processes accepted webhook events after the webhook has been acknowledged.

Events of one conversation run in order (the store hands out a conversation's items in order and
never while one of them is being processed); conversations run in parallel.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog

from botperms.messenger import MessagingEvent
from botperms.metrics import INBOX
from botperms.store import InboxItem, Store
from botperms.worker.backoff import delay
from botperms.worker.loop import WakeableLoop

log = structlog.get_logger(__name__)

EventHandler = Callable[[MessagingEvent], Awaitable[None]]
MAX_ATTEMPTS = 5


class InboxWorker:
    def __init__(
        self, store: Store, handler: EventHandler, *, batch: int = 50, idle: float = 1.0
    ) -> None:
        self.store = store
        self.handler = handler
        self.batch = batch
        self.loop = WakeableLoop("inbox", self.run_once, idle)

    async def run_once(self) -> bool:
        items = await self.store.inbox_claim(datetime.now(UTC), self.batch)
        if not items:
            return False
        conversations: dict[tuple[str, str | None], list[InboxItem]] = defaultdict(list)
        for item in items:
            conversations[(item.page_id, item.psid)].append(item)
        await asyncio.gather(*(self._conversation(group) for group in conversations.values()))
        return True

    async def _conversation(self, items: list[InboxItem]) -> None:
        for index, item in enumerate(items):
            if not await self._one(item):
                # Keep order: later events of this conversation wait for the failed one's retry.
                await self.store.inbox_release([later.id for later in items[index + 1 :]])
                return

    async def _one(self, item: InboxItem) -> bool:
        try:
            event = MessagingEvent.model_validate(item.payload)
            await self.handler(event)
        except Exception as exc:
            attempts = item.attempts  # the claim already counted this attempt
            error = f"{type(exc).__name__}: {exc}"[:500]
            if attempts >= MAX_ATTEMPTS:
                log.exception("inbox.dead", item_id=item.id, kind=item.kind, attempts=attempts)
                await self.store.inbox_failed(item.id, error, retry_at=None)
                INBOX.labels("dead").inc()
                return True  # dead-lettered: later events may go on
            retry_at = datetime.now(UTC) + timedelta(seconds=delay(attempts))
            log.warning("inbox.retry", item_id=item.id, kind=item.kind, attempts=attempts)
            await self.store.inbox_failed(item.id, error, retry_at=retry_at)
            INBOX.labels("retry").inc()
            return False
        await self.store.inbox_done(item.id)
        INBOX.labels("done").inc()
        return True

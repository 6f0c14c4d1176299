"""Handles stored events after the webhook has been acknowledged.

Up to ``max_in_flight`` conversations are handled at once, one event each: a conversation's
next event is taken only after the previous one's outcome has committed, so events of one
conversation run in order and each sees what the one before it did. An event's effects
(replies, intents, internal events) commit in the same transaction that marks it done, batched
with other events' outcomes (group commit). Nothing is written when an event is taken, so after
a crash every event whose outcome did not commit is simply still pending.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog

from botperms.bot.dispatcher import Dispatcher
from botperms.metrics import INBOX, inc
from botperms.store import (
    Batcher,
    EventOutcome,
    GrantRecord,
    Handled,
    InboxItem,
    Send,
    Store,
    StoreError,
)
from botperms.worker.backlog import Backlog
from botperms.worker.handling import EventHandling, RetryPolicy
from botperms.worker.loop import WakeableLoop

log = structlog.get_logger(__name__)

# More than can commit while one read of the pending events is under way.
RECENT_LIMIT = 50_000


def _now() -> datetime:
    return datetime.now(UTC)


class InboxWorker:
    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        *,
        policy: RetryPolicy | None = None,
        max_in_flight: int = 256,
        idle: float = 1.0,
        on_sends: Callable[[], None] = lambda: None,
        signal: asyncio.Event | None = None,
        clock: Callable[[], datetime] = _now,
        backlog: Backlog | None = None,
    ) -> None:
        """``backlog``: told of every event this worker finishes and of the messages it
        queued (the intake's backpressure)."""
        self.store = store
        self.backlog = backlog
        self.dispatcher = dispatcher
        self.policy = policy or RetryPolicy()
        self.handling = EventHandling(dispatcher, self.policy, clock)
        self.max_in_flight = max_in_flight
        self._refill = max(1, max_in_flight // 8)
        self._on_sends = on_sends
        self._clock = clock
        self._in_flight: dict[tuple[str, str], asyncio.Task[None]] = {}
        # Ids of events whose outcome committed lately. A read that began before such a
        # commit can still return the event as pending after its conversation was released;
        # without this it would be handled twice.
        self._recent: deque[int] = deque(maxlen=RECENT_LIMIT)
        self._recent_ids: set[int] = set()
        self.completions: Batcher[EventOutcome, None] = Batcher(
            "inbox_complete", self._commit, max_batch=500
        )
        self.loop = WakeableLoop("inbox", self.run_once, idle, signal)

    async def _commit(self, outcomes: Sequence[EventOutcome]) -> list[None]:
        await self.store.inbox_complete(outcomes)
        return [None] * len(outcomes)

    async def run_once(self) -> bool:
        """Start handling what is due; True when it started something."""
        free = self.max_in_flight - len(self._in_flight)
        if free <= 0 or (self._in_flight and free < self._refill):
            # Woken again when conversations finish: one read for a few free places costs
            # more than the events it would start (measured in `make bench`).
            return False
        items = await self.store.inbox_pending(
            self._clock(),
            free,
            exclude=self._in_flight.keys(),
            strict_order=self.policy.strict_order,
        )
        items = [item for item in items if item.id not in self._recent_ids]
        if not items:
            return False
        people = [(item.page_id, item.psid) for item in items if item.psid is not None]
        grants = await self.store.active_grants(people)
        for item in items:
            grant = grants.get((item.page_id, item.psid or ""))
            task = asyncio.create_task(self._process(item, grant), name=f"inbox:{item.id}")
            self._in_flight[item.conversation] = task
        return True

    async def _process(self, item: InboxItem, grant: GrantRecord | None) -> None:
        try:
            outcome = await self._handle(item, grant)
            try:
                await self.completions.submit(outcome)
            except StoreError as exc:
                # Nothing committed: the event is still pending with no effects. Give the
                # database a moment before this conversation is taken again.
                log.error("inbox.commit_failed", item_id=item.id, error=str(exc))
                await asyncio.sleep(1.0)
                return
            sends = sum(isinstance(effect, Send) for effect in outcome.effects)
            if isinstance(outcome, Handled) or outcome.retry_at is None:
                # Done or dead: never to be taken again. (A retried event is taken again
                # anyway; a stale read can at worst retry it a little early.)
                self._remember(item.id)
                if self.backlog is not None:
                    # The event leaves the backlog; the messages it queued join it.
                    self.backlog.added(sends)
                    self.backlog.finished()
            if isinstance(outcome, Handled):
                inc(INBOX, "done")
                if sends:
                    self._on_sends()
            else:
                inc(INBOX, "retry" if outcome.retry_at is not None else "dead")
        finally:
            self._in_flight.pop(item.conversation, None)
            self.loop.wake()

    def _remember(self, item_id: int) -> None:
        if len(self._recent) == self._recent.maxlen:
            self._recent_ids.discard(self._recent[0])
        self._recent.append(item_id)
        self._recent_ids.add(item_id)

    async def _handle(self, item: InboxItem, grant: GrantRecord | None) -> EventOutcome:
        return await self.handling.outcome(item, grant)

    async def drain(self) -> None:
        """Wait for the events in hand (at shutdown)."""
        tasks = list(self._in_flight.values())
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.completions.close()

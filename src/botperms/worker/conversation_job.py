"""The distributed worker's job: one turn of one conversation.

The queue engine runs at most one job per conversation at a time, in the order they were
deferred (a lock per conversation), on any worker. A turn handles the conversation's due
events one by one, each committed with its effects (and refused if another run of the job got
there first), then sends its queued messages in order. It repeats while the turn's own effects
queued more work, and asks for a later turn when something waits for a retry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import structlog

from botperms.metrics import INBOX, OUTBOX
from botperms.store import (
    Batcher,
    Commit,
    ConversationEvents,
    ConversationSends,
    EventOutcome,
    Failed,
    GrantRecord,
    Handled,
    QueueEvent,
    ReplayIntent,
    SendOutcome,
    StaleCompletion,
    Store,
)
from botperms.worker.handling import EventHandling
from botperms.worker.sending import Sender

log = structlog.get_logger(__name__)

# Events read per round; a busy conversation takes several rounds (or turns).
EVENTS_PER_ROUND = 50
# Rounds per turn: a conversation that keeps queueing work for itself yields its worker.
MAX_ROUNDS = 8

Later = Callable[[str, str, datetime], Awaitable[None]]


def _now() -> datetime:
    return datetime.now(UTC)


class ConversationJob:
    def __init__(
        self,
        store: Store,
        handling: EventHandling,
        sender: Sender,
        *,
        later: Later,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """``later(page_id, psid, when)``: ask for another turn of the conversation at
        ``when`` (a retry that is not due yet, or work left after ``MAX_ROUNDS``)."""
        self.store = store
        self.handling = handling
        self.sender = sender
        self._later = later
        self._clock = clock
        # The turns running at once in this worker share their transactions (group commit),
        # as the embedded worker's events do: one completion-and-claim and one send record
        # per batch instead of one each.
        self.reads: Batcher[tuple[str, str], tuple[ConversationEvents, GrantRecord | None]] = (
            Batcher("turn_read", self._read, max_batch=200)
        )
        self.commits: Batcher[Commit, ConversationSends] = Batcher(
            "turn_commit", self._commit, max_batch=200
        )
        self.finishes: Batcher[tuple[list[SendOutcome], list[int]], None] = Batcher(
            "turn_finish", self._finish, max_batch=200
        )

    async def _read(
        self, conversations: Sequence[tuple[str, str]]
    ) -> list[tuple[ConversationEvents, GrantRecord | None]]:
        return await self.store.conversation_read_many(
            conversations,
            self._clock(),
            EVENTS_PER_ROUND,
            strict_order=self.handling.policy.strict_order,
        )

    async def _commit(self, commits: Sequence[Commit]) -> list[ConversationSends]:
        return await self.store.conversation_commit_many(commits, self._clock())

    async def _finish(self, batch: Sequence[tuple[list[SendOutcome], list[int]]]) -> list[None]:
        await self.store.outbox_finish([outcome for outcomes, _ in batch for outcome in outcomes])
        released = [item_id for _, ids in batch for item_id in ids]
        if released:
            await self.store.outbox_release(released)
        return [None] * len(batch)

    async def run(self, page_id: str, psid: str) -> None:
        for _ in range(MAX_ROUNDS):
            again, claimed, wait_events = await self._handle_events(page_id, psid)
            if claimed is None and psid:
                # No event committed this round (the turn was for messages alone, or there
                # was nothing): claim the messages on their own.
                claimed = await self.store.conversation_sends(page_id, psid, self._clock())
            wait_sends = await self._send(claimed) if claimed else None
            if not again:
                # Nothing new for this conversation came out of the turn (the usual case:
                # an event answered). Its later work has, or will get, turns of its own.
                waits = [when for when in (wait_events, wait_sends) if when is not None]
                if waits:
                    await self._later(page_id, psid, min(waits))
                return
        await self._later(page_id, psid, self._clock())

    async def _handle_events(
        self, page_id: str, psid: str
    ) -> tuple[bool, ConversationSends | None, datetime | None]:
        """Handle the due events one by one. Returns whether the turn must go round again
        (an effect queued an event of this conversation, or the read was full), the messages
        the last completion claimed, and when a waiting event comes due."""
        strict = self.handling.policy.strict_order
        events, grant = await self.reads.submit((page_id, psid))
        again = len(events.items) == EVENTS_PER_ROUND
        claimed: ConversationSends | None = None
        for index, item in enumerate(events.items):
            if index and psid:
                # Read again: the event before may have changed it (a login, a revoke).
                grant = (await self.store.active_grants([(page_id, psid)])).get((page_id, psid))
            outcome = await self.handling.outcome(item, grant)
            last = index == len(events.items) - 1
            try:
                claimed = await self.commits.submit(Commit(outcome, page_id, psid, last))
            except StaleCompletion:
                log.warning("inbox.already_completed", item_id=item.id)
                continue
            again = again or _queues_events(outcome)
            if isinstance(outcome, Handled):
                INBOX.labels("done").inc()
            else:
                INBOX.labels("retry" if outcome.retry_at is not None else "dead").inc()
                if isinstance(outcome, Failed) and outcome.retry_at is not None and strict:
                    return again, None, outcome.retry_at
        return again, claimed, events.wait_until

    async def _send(self, sends: ConversationSends) -> datetime | None:
        """Send the claimed messages in order; returns when a retry waiting comes due."""
        if sends.items:
            page_id = sends.items[0].page_id
            if page_id in await self.sender.backoff.paused_pages():
                # The page is paused after a rate limit (by any worker): its messages wait,
                # unsent and untried, for a turn when the pause ends.
                await self.store.outbox_release([item.id for item in sends.items])
                return self.sender.backoff.paused_until(page_id)
        if sends.ambiguous:
            log.warning("outbox.resending_ambiguous", items=sends.ambiguous)
        outcomes: list[SendOutcome] = []
        wait: datetime | None = sends.wait_until
        for item in sends.items:
            outcome = await self.sender.attempt(item)
            outcomes.append(outcome)
            if outcome.status == "pending":
                # A retry holds back the messages after it: they wait with it, unsent.
                wait = outcome.next_attempt_at
                break
        released = [item.id for item in sends.items[len(outcomes) :]]
        if outcomes or released:
            await self.finishes.submit((outcomes, released))
        for outcome in outcomes:
            OUTBOX.labels(outcome.status if outcome.status != "pending" else "retry").inc()
        return wait


def _queues_events(outcome: EventOutcome) -> bool:
    # An internal event or a replayed intent is new inbox work, often of this conversation.
    return any(isinstance(effect, QueueEvent | ReplayIntent) for effect in outcome.effects)

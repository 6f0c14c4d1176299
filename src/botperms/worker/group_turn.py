"""The distributed worker's job: one turn of a group of a page's conversations.

The queue engine runs at most one job per group at a time, in the order they were deferred (a
lock per group), on any worker. A turn reads the group's due work in one go, then runs its
conversations side by side: each handles its due events one by one, each committed with its
effects (and refused if another run of the job got there first), then sends its queued
messages in order. The conversations' commits, claims and send records share transactions
(group commit), so a backlog costs fewer round trips per event, not more. The turn repeats
while it left work behind (its effects queued events, or the read was full), and asks for a
later turn when something waits for a retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from botperms.metrics import INBOX, OUTBOX
from botperms.store import (
    Batcher,
    Commit,
    ConversationSends,
    ConversationWork,
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

# Events read per conversation and per round; a busy conversation takes several rounds.
EVENTS_PER_ROUND = 50
# Events read per group and per round: the group's conversations run side by side.
EVENTS_PER_TURN = 500
# Rounds per turn: a group that keeps queueing work for itself yields its worker.
MAX_ROUNDS = 8

Later = Callable[[str, int, datetime], Awaitable[None]]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Turn:
    again: bool  # the conversation has more work now (its effects queued events)
    wait: datetime | None  # when its next retry comes due


class GroupTurn:
    def __init__(
        self,
        store: Store,
        handling: EventHandling,
        sender: Sender,
        *,
        later: Later,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """``later(page_id, group, when)``: ask for another turn of the group at ``when``
        (a retry that is not due yet, or work left after ``MAX_ROUNDS``)."""
        self.store = store
        self.handling = handling
        self.sender = sender
        self._later = later
        self._clock = clock
        # The conversations of a turn, and the turns running at once in this worker, share
        # their transactions (group commit), as the embedded worker's events do.
        self.commits: Batcher[Commit, ConversationSends] = Batcher(
            "turn_commit", self._commit, max_batch=200
        )
        self.grants: Batcher[tuple[str, str], GrantRecord | None] = Batcher(
            "turn_grant", self._grants, max_batch=200
        )
        self.claims: Batcher[tuple[str, str], ConversationSends] = Batcher(
            "turn_claim", self._claim, max_batch=200
        )
        self.finishes: Batcher[tuple[list[SendOutcome], list[int]], None] = Batcher(
            "turn_finish", self._finish, max_batch=200
        )

    async def _commit(self, commits: Sequence[Commit]) -> list[ConversationSends]:
        return await self.store.conversation_commit_many(commits, self._clock())

    async def _grants(self, people: Sequence[tuple[str, str]]) -> list[GrantRecord | None]:
        found = await self.store.active_grants(people)
        return [found.get(person) for person in people]

    async def _claim(self, conversations: Sequence[tuple[str, str]]) -> list[ConversationSends]:
        claimed = await self.store.conversation_sends(conversations, self._clock())
        empty = ConversationSends([], 0, None)
        return [claimed.get(conversation, empty) for conversation in conversations]

    async def _finish(self, batch: Sequence[tuple[list[SendOutcome], list[int]]]) -> list[None]:
        await self.store.outbox_finish([outcome for outcomes, _ in batch for outcome in outcomes])
        released = [item_id for _, ids in batch for item_id in ids]
        if released:
            await self.store.outbox_release(released)
        return [None] * len(batch)

    async def run(self, page_id: str, group: int) -> None:
        # When a retry waiting comes due, over every round (a conversation that only waits
        # for a send's retry is not read again in the next round).
        waits: list[datetime] = []
        for _ in range(MAX_ROUNDS):
            work = await self.store.group_read(
                page_id,
                group,
                self._clock(),
                limit=EVENTS_PER_TURN,
                per_conversation=EVENTS_PER_ROUND,
                strict_order=self.handling.policy.strict_order,
            )
            turns = await asyncio.gather(
                *(self._conversation(conversation) for conversation in work.conversations),
                return_exceptions=True,
            )
            # Every conversation has finished before the job ends, even when one failed: the
            # group's next job must not run beside a conversation still in this one.
            failed = [turn for turn in turns if isinstance(turn, BaseException)]
            if failed:
                raise failed[0]
            done = [turn for turn in turns if isinstance(turn, _Turn)]
            waits += [turn.wait for turn in done if turn.wait is not None]
            if not (work.full or any(turn.again for turn in done)):
                # Nothing new came out of the turn (the usual case: events answered). Later
                # work has, or will get, turns of its own.
                if waits:
                    await self._later(page_id, group, min(waits))
                return
        await self._later(page_id, group, self._clock())

    async def _conversation(self, work: ConversationWork) -> _Turn:
        """One conversation's part of the turn: its events, then its messages."""
        page_id, psid = work.page_id, work.psid
        again, claimed, wait_events = await self._handle_events(work)
        if claimed is None and psid and (work.events.items or work.sends_due):
            # No commit claimed the messages (the conversation had only messages due, or
            # its events stopped early): claim them on their own.
            claimed = await self.claims.submit((page_id, psid))
        wait_sends = await self._send(claimed) if claimed else None
        waits = [when for when in (wait_events, wait_sends) if when is not None]
        return _Turn(again, min(waits) if waits else None)

    async def _handle_events(
        self, work: ConversationWork
    ) -> tuple[bool, ConversationSends | None, datetime | None]:
        """Handle the due events one by one. Returns whether an effect queued new events
        (the turn must go round again), the messages the last completion claimed, and when a
        waiting event comes due."""
        strict = self.handling.policy.strict_order
        page_id, psid, events, grant = work.page_id, work.psid, work.events, work.grant
        again = False
        claimed: ConversationSends | None = None
        for index, item in enumerate(events.items):
            if index and psid:
                # Read again: the event before may have changed it (a login, a revoke).
                grant = await self.grants.submit((page_id, psid))
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

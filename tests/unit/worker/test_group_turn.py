"""The distributed worker's group turn over a real store (SQLite here; the same store code runs
on PostgreSQL in tests/store and tests/e2e/test_scale_out.py): order, exactly-once completion,
sends in order, a group's conversations side by side, retries that ask for a later turn, and a
paused page's messages left untried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from botperms.bot import Bot, Context
from botperms.bot.dispatcher import Dispatcher
from botperms.graph import GraphClient
from botperms.store import Handled, StaleCompletion, Store, conversation_group
from botperms.worker.group_turn import GroupTurn
from botperms.worker.handling import EventHandling, RetryPolicy
from botperms.worker.page_backoff import PageBackoff
from botperms.worker.sending import Sender, fixed_token
from tests.unit.worker.conftest import PAGE_ID, PAGE_TOKEN, FakeSendAPI, graph_error
from tests.unit.worker.test_inbox import message, worker_runtime


class Later:
    def __init__(self) -> None:
        self.asked: list[tuple[str, int, datetime]] = []

    async def __call__(self, page_id: str, group: int, when: datetime) -> None:
        self.asked.append((page_id, group, when))


def group(psid: str) -> int:
    return conversation_group(psid)


def people_in_one_group(count: int) -> list[str]:
    """``count`` PSIDs whose conversations share a group."""
    found: dict[int, list[str]] = {}
    for n in range(10_000):
        psid = f"p{n}"
        same = found.setdefault(conversation_group(psid), [])
        same.append(psid)
        if len(same) == count:
            return same
    raise AssertionError("no group that full")


def make_job(store: Store, graph: GraphClient, bot: Bot, later: Later, **sender: Any) -> GroupTurn:
    handling = EventHandling(
        Dispatcher(bot, worker_runtime(store, graph)),
        RetryPolicy(max_attempts=3),
        lambda: datetime.now(UTC),
    )
    return GroupTurn(store, handling, Sender(graph, fixed_token(PAGE_TOKEN), **sender), later=later)


@pytest.fixture
def echo() -> Bot:
    bot = Bot(name="echo")

    @bot.on_message()
    async def answer(ctx: Context) -> None:
        await ctx.reply(f"re {ctx.text}")

    return bot


async def test_a_turn_answers_the_conversations_events_in_order_once(
    store: Store, graph: GraphClient, facebook: FakeSendAPI, echo: Bot
) -> None:
    await store.inbox_add([message("a", f"m{i}", 1000 + i) for i in range(5)])
    await store.inbox_add([message("b", "other", 2000)])
    later = Later()
    assert group("a") != group("b")
    job = make_job(store, graph, echo, later)
    await job.run(PAGE_ID, group("a"))
    assert facebook.labels("a") == [f"re m{i}" for i in range(5)]
    assert facebook.labels("b") == []  # another group: another job
    # A second run of the same job (the engine ran it twice) finds nothing to do.
    await job.run(PAGE_ID, group("a"))
    assert facebook.labels("a") == [f"re m{i}" for i in range(5)]
    assert later.asked == []


async def test_a_turn_answers_every_conversation_of_its_group_each_in_order(
    store: Store, graph: GraphClient, facebook: FakeSendAPI, echo: Bot
) -> None:
    people = people_in_one_group(6)
    # Interleaved, as they arrive: each person's messages must come back in their order.
    await store.inbox_add(
        [
            message(psid, f"{psid}-{i}", 1000 + 10 * i + n)
            for i in range(4)
            for n, psid in enumerate(people)
        ]
    )
    job = make_job(store, graph, echo, Later())
    await job.run(PAGE_ID, group(people[0]))
    for psid in people:
        assert facebook.labels(psid) == [f"re {psid}-{i}" for i in range(4)]
    assert await store.inbox_list(status="pending") == []
    # The conversations shared their transactions: fewer commits than events.
    assert job.commits.flushes < 24


async def test_an_event_completed_by_another_run_commits_nothing(store: Store, echo: Bot) -> None:
    await store.inbox_add([message("a", "hi", 1000)])
    work = await store.group_read(
        PAGE_ID, group("a"), datetime.now(UTC), limit=10, per_conversation=10
    )
    ((conversation,),) = (work.conversations,)
    (item,) = conversation.events.items
    await store.inbox_complete([Handled(item.id, [])], guarded=True)
    with pytest.raises(StaleCompletion):
        await store.inbox_complete([Handled(item.id, [])], guarded=True)


async def test_a_send_that_must_wait_asks_for_a_later_turn_and_holds_the_next(
    store: Store, graph: GraphClient, facebook: FakeSendAPI, echo: Bot
) -> None:
    facebook.fail("re one", *[graph_error(1200, status=500) for _ in range(5)])
    await store.inbox_add([message("a", "one", 1000), message("a", "two", 1001)])
    later = Later()
    await make_job(store, graph, echo, later).run(PAGE_ID, group("a"))
    # "re one" was tried and waits for its retry; "re two" waits behind it, untried.
    assert facebook.labels("a") == ["re one"]
    assert len(later.asked) == 1
    assert later.asked[0][2] > datetime.now(UTC)
    statuses = {item.payload.get("text"): item.status for item in await store.outbox_list()}
    assert statuses == {"re one": "pending", "re two": "pending"}


async def test_a_paused_page_leaves_its_messages_untried_until_the_pause_ends(
    store: Store, graph: GraphClient, facebook: FakeSendAPI, echo: Bot
) -> None:
    # Paused by another worker: the pause is in the store.
    until = datetime.now(UTC) + timedelta(seconds=60)
    await store.page_pause(PAGE_ID, until=until, strikes=1, reason="code 613")
    backoff = PageBackoff(store)
    await store.inbox_add([message("a", "hi", 1000)])
    later = Later()
    await make_job(store, graph, echo, later, backoff=backoff).run(PAGE_ID, group("a"))
    assert facebook.attempts == []
    assert later.asked == [(PAGE_ID, group("a"), until)]
    (queued,) = await store.outbox_list()
    assert (queued.status, queued.attempts) == ("pending", 0)
    assert until - datetime.now(UTC) > timedelta(seconds=50)


async def test_a_message_queued_outside_any_event_is_sent_by_its_groups_turn(
    store: Store, graph: GraphClient, facebook: FakeSendAPI, echo: Bot
) -> None:
    # As `botperms outbox retry` or `tokens check --notify` queue them: no event goes with it.
    await store.outbox_add(PAGE_ID, "a", {"text": "your token expires soon"})
    later = Later()
    await make_job(store, graph, echo, later).run(PAGE_ID, group("a"))
    assert facebook.labels("a") == ["your token expires soon"]
    (sent,) = await store.outbox_list()
    assert sent.status == "sent"
    assert later.asked == []

"""The distributed worker's conversation turn over a real store (SQLite here; the same store
code runs on PostgreSQL in tests/e2e/test_scale_out.py): order, exactly-once completion, sends
in order, retries that ask for a later turn, and a paused page's messages left untried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from botperms.bot import Bot, Context
from botperms.bot.dispatcher import Dispatcher
from botperms.bot.runtime import Runtime
from botperms.graph import GraphClient
from botperms.store import Handled, StaleCompletion, Store
from botperms.worker.conversation_job import ConversationJob
from botperms.worker.handling import EventHandling, RetryPolicy
from botperms.worker.page_backoff import PageBackoff
from botperms.worker.sending import Sender, fixed_token
from tests.unit.worker.conftest import PAGE_ID, PAGE_TOKEN, FakeSendAPI, graph_error
from tests.unit.worker.test_inbox import links, message


class Later:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str, datetime]] = []

    async def __call__(self, page_id: str, psid: str, when: datetime) -> None:
        self.asked.append((page_id, psid, when))


def make_job(
    store: Store, graph: GraphClient, bot: Bot, later: Later, **sender: Any
) -> ConversationJob:
    runtime = Runtime(
        graph=graph,
        store=store,
        page_token=PAGE_TOKEN,
        default_scopes=("user_likes",),
        login_links=links,
    )
    handling = EventHandling(
        Dispatcher(bot, runtime), RetryPolicy(max_attempts=3), lambda: datetime.now(UTC)
    )
    return ConversationJob(
        store, handling, Sender(graph, fixed_token(PAGE_TOKEN), **sender), later=later
    )


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
    job = make_job(store, graph, echo, later)
    await job.run(PAGE_ID, "a")
    assert facebook.labels("a") == [f"re m{i}" for i in range(5)]
    assert facebook.labels("b") == []  # another conversation: another job
    # A second run of the same job (the engine ran it twice) finds nothing to do.
    await job.run(PAGE_ID, "a")
    assert facebook.labels("a") == [f"re m{i}" for i in range(5)]
    assert later.asked == []


async def test_an_event_completed_by_another_run_commits_nothing(store: Store, echo: Bot) -> None:
    await store.inbox_add([message("a", "hi", 1000)])
    (item,) = (await store.conversation_read(PAGE_ID, "a", datetime.now(UTC), 10))[0].items
    await store.inbox_complete([Handled(item.id, [])], guarded=True)
    with pytest.raises(StaleCompletion):
        await store.inbox_complete([Handled(item.id, [])], guarded=True)


async def test_a_send_that_must_wait_asks_for_a_later_turn_and_holds_the_next(
    store: Store, graph: GraphClient, facebook: FakeSendAPI, echo: Bot
) -> None:
    facebook.fail("re one", *[graph_error(1200, status=500) for _ in range(5)])
    await store.inbox_add([message("a", "one", 1000), message("a", "two", 1001)])
    later = Later()
    await make_job(store, graph, echo, later).run(PAGE_ID, "a")
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
    await make_job(store, graph, echo, later, backoff=backoff).run(PAGE_ID, "a")
    assert facebook.attempts == []
    assert later.asked == [(PAGE_ID, "a", until)]
    (queued,) = await store.outbox_list()
    assert (queued.status, queued.attempts) == ("pending", 0)
    assert until - datetime.now(UTC) > timedelta(seconds=50)

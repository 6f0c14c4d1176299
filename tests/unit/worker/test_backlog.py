"""Backpressure: the intake's commit waits while the backlog is over its limit, never longer
than the wait allowed, and the workers' counts bring the backlog down."""

from __future__ import annotations

import asyncio
import time

from botperms.bot import Bot, Context
from botperms.bot.dispatcher import Dispatcher
from botperms.graph import GraphClient
from botperms.store import Store
from botperms.worker.backlog import Backlog
from tests.unit.worker.conftest import PAGE_ID, PAGE_TOKEN, FakeSendAPI, graph_error
from tests.unit.worker.test_inbox import bot, dispatcher, drain, make_worker, message

__all__ = ["bot", "dispatcher"]  # the inbox tests' fixtures, used here too


async def test_under_the_limit_nothing_waits() -> None:
    backlog = Backlog(3, max_wait=5.0)
    backlog.added(2)
    started = time.monotonic()
    await backlog.room()
    assert time.monotonic() - started < 0.1


async def test_over_the_limit_it_waits_until_the_workers_catch_up() -> None:
    backlog = Backlog(3, max_wait=5.0)
    backlog.added(3)
    waiting = asyncio.create_task(backlog.room())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    backlog.finished()
    await asyncio.wait_for(waiting, 1.0)
    assert backlog.count == 2


async def test_it_never_waits_longer_than_allowed() -> None:
    backlog = Backlog(1, max_wait=0.2)
    backlog.added(10)
    started = time.monotonic()
    await backlog.room()
    assert 0.15 < time.monotonic() - started < 1.0


async def test_limit_zero_is_off_and_the_count_never_goes_below_zero() -> None:
    backlog = Backlog(0, max_wait=5.0)
    backlog.added(1_000_000)
    await asyncio.wait_for(backlog.room(), 0.1)
    backlog.finished(2_000_000)
    assert backlog.count == 0


async def test_an_event_leaves_the_backlog_and_its_replies_join_it(
    bot: Bot, store: Store, dispatcher: Dispatcher
) -> None:
    @bot.on_message()
    async def twice(ctx: Context) -> None:
        await ctx.reply("one")
        await ctx.reply("two")

    backlog = Backlog(100, max_wait=1.0)
    worker = make_worker(store, dispatcher, backlog=backlog)
    await store.inbox_add([message("a", "1", 1), message("b", "2", 2)])
    backlog.added(2)
    await drain(worker, store)
    # Two events handled, four messages queued and not sent yet.
    assert backlog.count == 4


async def test_a_sent_message_leaves_the_backlog_and_a_retried_one_stays(
    store: Store, graph: GraphClient, facebook: FakeSendAPI
) -> None:
    from botperms.worker.outbox import OutboxWorker
    from botperms.worker.sending import Sender, fixed_token

    backlog = Backlog(100, max_wait=1.0)
    backlog.added(2)
    worker = OutboxWorker(store, Sender(graph, fixed_token(PAGE_TOKEN)), backlog=backlog)
    # More transient failures than the client's own retries absorb: the try ends "pending".
    facebook.fail("first", *[graph_error(2, message="temporary", status=500)] * 10)
    await store.outbox_add(PAGE_ID, "a", {"text": "first"})
    await store.outbox_add(PAGE_ID, "b", {"text": "second"})
    await worker.run_once()
    await worker.drain()
    assert len(facebook.delivered) == 1
    assert backlog.count == 1  # the one waiting for its retry is still owed

"""The inbox worker over a real store and a real dispatcher: order per conversation, effects
committed with their event (exactly once), retries, dead letters and the first failure's log."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog

from botperms.bot import Bot, Context
from botperms.bot.dispatcher import Dispatcher
from botperms.bot.runtime import Runtime
from botperms.graph import GraphClient
from botperms.logs import configure
from botperms.store import NewInboxItem, StorageUnavailable, Store
from botperms.worker import InboxWorker, RetryPolicy
from tests.unit.worker.conftest import PAGE_ID, PAGE_TOKEN, make_due


def message(psid: str, text: str, time: int) -> NewInboxItem:
    payload = {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": time,
        "message": {"mid": f"m.{psid}.{time}", "text": text},
    }
    return NewInboxItem(f"mid:m.{psid}.{time}", PAGE_ID, psid, "message", payload, time)


def links(page_id: str, psid: str, scopes: Any = None, **_: Any) -> str:
    return "https://bot.test/auth/start?ticket=t"


@pytest.fixture
def bot() -> Bot:
    return Bot(name="echo")


def worker_runtime(store: Store, graph: GraphClient) -> Runtime:
    """The runtime the worker tests' dispatchers use (the settings' page, login links)."""
    return Runtime(
        graph=graph,
        store=store,
        page_token=PAGE_TOKEN,
        default_scopes=("user_likes",),
        login_links=links,
    )


@pytest.fixture
def dispatcher(bot: Bot, store: Store, graph: GraphClient) -> Dispatcher:
    return Dispatcher(bot, worker_runtime(store, graph))


def make_worker(store: Store, dispatcher: Dispatcher, **options: Any) -> InboxWorker:
    options.setdefault("policy", RetryPolicy(max_attempts=3, base_delay=0.001))
    return InboxWorker(store, dispatcher, **options)


@pytest.fixture
def worker(store: Store, dispatcher: Dispatcher) -> InboxWorker:
    return make_worker(store, dispatcher)


async def drain(worker: InboxWorker, store: Store, passes: int = 200) -> None:
    """Passes (retries made due in between) until nothing is left to handle."""
    for _ in range(passes):
        await make_due(store.db)
        started = await worker.run_once()
        await worker.drain()
        if not started and not await store.inbox_pending(datetime.now(UTC), 1):
            return
    raise AssertionError("the inbox did not drain")


async def replies(store: Store) -> list[tuple[str, str]]:
    return [(item.psid, item.payload.get("text", "")) for item in await store.outbox_list()]


async def test_each_event_is_answered_once_in_order(
    bot: Bot, store: Store, worker: InboxWorker
) -> None:
    @bot.on_message()
    async def echo(ctx: Context) -> None:
        await ctx.reply(f"echo {ctx.text}")

    await store.inbox_add([message("a", "1", 1), message("b", "x", 2), message("a", "2", 3)])
    await drain(worker, store)
    assert await replies(store) == [("a", "echo 1"), ("b", "echo x"), ("a", "echo 2")]
    assert await store.inbox_counts() == {"done": 3}


async def test_a_handler_that_fails_after_replying_sends_exactly_one_reply(
    bot: Bot, store: Store, worker: InboxWorker
) -> None:
    tries: list[str] = []

    @bot.on_message()
    async def flaky(ctx: Context) -> None:
        await ctx.reply("the only reply")
        tries.append(ctx.text or "")
        if len(tries) == 1:
            raise ConnectionError("Graph went away mid-handler")

    await store.inbox_add([message("a", "hi", 1)])
    await drain(worker, store)
    assert tries == ["hi", "hi"]
    assert await replies(store) == [("a", "the only reply")]


async def test_one_that_always_fails_sends_nothing_and_later_events_still_run(
    bot: Bot, store: Store, worker: InboxWorker
) -> None:
    @bot.on_message(text="boom")
    async def broken(ctx: Context) -> None:
        await ctx.reply("never sent")
        raise TimeoutError("always")

    @bot.on_message()
    async def fine(ctx: Context) -> None:
        await ctx.reply(f"ok {ctx.text}")

    await store.inbox_add([message("a", "boom", 1), message("a", "after", 2)])
    await drain(worker, store)
    assert await replies(store) == [("a", "ok after")]
    [dead] = await store.inbox_list(status="failed")
    assert (dead.attempts, dead.last_error) == (3, "TimeoutError: always")


async def test_a_programming_error_is_dead_lettered_at_once_with_its_traceback(
    bot: Bot, store: Store, worker: InboxWorker, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("INFO")
    tries: list[int] = []

    @bot.on_message()
    async def typo(ctx: Context) -> None:
        tries.append(1)
        ctx.reply_to_everyone()  # type: ignore[attr-defined]

    await store.inbox_add([message("a", "hi", 1)])
    await drain(worker, store)
    assert tries == [1]  # not retried: the same code fails the same way every time
    output = capsys.readouterr().err
    assert "inbox.dead" in output
    assert "test_inbox.test_a_programming_error_is_dead_lettered_at_once" in output
    assert "Traceback" in output
    assert "reply_to_everyone" in output
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


async def test_the_first_passing_failure_shows_its_traceback_then_retries_quietly(
    bot: Bot, store: Store, worker: InboxWorker, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("INFO")

    @bot.on_message()
    async def down(ctx: Context) -> None:
        raise ConnectionError("graph down")

    await store.inbox_add([message("a", "hi", 1)])
    await drain(worker, store)
    output = capsys.readouterr().err
    assert output.count("Traceback") == 2  # the first failure and the dead letter
    assert "inbox.failed" in output
    assert "inbox.retry" in output
    assert "inbox.dead" in output
    assert "handler=tests.unit.worker.test_inbox" in output
    structlog.reset_defaults()


def first_fails_once(bot: Bot) -> None:
    """A handler for which message "1" fails the first time, and every message is echoed."""
    failed: list[int] = []

    @bot.on_message()
    async def first_fails(ctx: Context) -> None:
        if ctx.text == "1" and not failed:
            failed.append(1)
            raise ConnectionError("once")
        await ctx.reply(ctx.text or "")


async def two_passes(worker: InboxWorker, store: Store) -> None:
    """Messages "1" and "2" of one person; "1" fails and waits a minute for its retry."""
    await store.inbox_add([message("a", "1", 1), message("a", "2", 2)])
    for _ in range(2):
        await worker.run_once()
        await worker.drain()


async def test_strict_order_holds_the_conversation_while_a_retry_waits(
    bot: Bot, store: Store, dispatcher: Dispatcher
) -> None:
    first_fails_once(bot)
    await two_passes(make_worker(store, dispatcher, policy=RetryPolicy(base_delay=60)), store)
    assert await replies(store) == []  # "2" waits behind "1"


async def test_without_strict_order_later_events_go_ahead(
    bot: Bot, store: Store, dispatcher: Dispatcher
) -> None:
    first_fails_once(bot)
    policy = RetryPolicy(base_delay=60, strict_order=False)
    relaxed = make_worker(store, dispatcher, policy=policy)
    await two_passes(relaxed, store)
    assert await replies(store) == [("a", "2")]
    await drain(relaxed, store)
    assert await replies(store) == [("a", "2"), ("a", "1")]


async def test_a_commit_that_fails_keeps_nothing_and_the_event_runs_again(
    bot: Bot, store: Store, worker: InboxWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[str] = []

    @bot.on_message()
    async def echo(ctx: Context) -> None:
        runs.append(ctx.text or "")
        await ctx.reply("once")

    original = store.inbox_complete
    failures = [StorageUnavailable("database or disk is full")]

    async def full_disk_once(outcomes: Any) -> None:
        if failures:
            raise failures.pop()
        await original(outcomes)

    monkeypatch.setattr(store, "inbox_complete", full_disk_once)
    monkeypatch.setattr(asyncio, "sleep", _no_sleep)
    await store.inbox_add([message("a", "hi", 1)])
    await drain(worker, store)
    assert runs == ["hi", "hi"]
    assert await replies(store) == [("a", "once")]


_real_sleep = asyncio.sleep


async def _no_sleep(seconds: float, result: Any = None) -> Any:
    return await _real_sleep(0, result)


async def test_fifty_conversations_of_forty_interleaved_messages_keep_their_order(
    bot: Bot, store: Store, worker: InboxWorker
) -> None:
    @bot.on_message()
    async def echo(ctx: Context) -> None:
        await asyncio.sleep(0)  # let other conversations interleave
        await ctx.reply(ctx.text or "")

    items = [message(f"p{c}", str(n), n * 50 + c) for n in range(40) for c in range(50)]
    await store.inbox_add(items)
    await drain(worker, store)
    sent: dict[str, list[str]] = {}
    for psid, text in await replies(store):
        sent.setdefault(psid, []).append(text)
    assert len(sent) == 50
    assert all(texts == [str(n) for n in range(40)] for texts in sent.values())


async def test_standby_events_are_read_but_never_answered(
    bot: Bot, store: Store, worker: InboxWorker
) -> None:
    @bot.on_message()
    async def echo(ctx: Context) -> None:
        await ctx.reply("should not go out")

    item = message("a", "to the human agent", 1)
    await store.inbox_add([NewInboxItem(*vars_of(item)[:-1], standby=True)])
    await drain(worker, store)
    assert await replies(store) == []
    assert await store.inbox_counts() == {"done": 1}


def vars_of(item: NewInboxItem) -> tuple[Any, ...]:
    return (
        item.event_key,
        item.page_id,
        item.psid,
        item.kind,
        item.payload,
        item.event_time,
        item.standby,
    )


async def test_a_read_that_saw_an_event_before_its_commit_does_not_handle_it_again(
    bot: Bot, store: Store, worker: InboxWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pending events are read outside the completions' transaction: a read that began
    # before an outcome committed can come back after the conversation was released, still
    # showing the event as pending (seen under load in the benchmark as doubled replies).
    runs: list[str] = []

    @bot.on_message()
    async def echo(ctx: Context) -> None:
        runs.append(ctx.text or "")
        await ctx.reply(ctx.text or "")

    await store.inbox_add([message("a", "once", 1)])
    stale = await store.inbox_pending(datetime.now(UTC), 10)
    original = store.inbox_pending
    reads = [stale]

    async def slow_read(*args: Any, **kwargs: Any) -> Any:
        fresh = await original(*args, **kwargs)
        return reads.pop() if reads else fresh

    assert await worker.run_once() is True
    await worker.drain()
    monkeypatch.setattr(store, "inbox_pending", slow_read)
    await worker.run_once()
    await worker.drain()
    assert runs == ["once"]
    assert await replies(store) == [("a", "once")]


async def test_on_error_runs_once_at_the_dead_letter_and_its_reply_commits_with_it(
    bot: Bot, store: Store, worker: InboxWorker
) -> None:
    seen: list[str] = []

    @bot.on_message()
    async def broken(ctx: Context) -> None:
        await ctx.reply("never sent")
        raise ConnectionError("down")

    @bot.on_error
    async def apologise(ctx: Context, error: BaseException) -> None:
        seen.append(type(error).__name__)
        await ctx.reply("Sorry, something went wrong.")

    await store.inbox_add([message("a", "hi", 1)])
    await drain(worker, store)
    assert seen == ["ConnectionError"]  # once, after the last of the 3 tries
    assert await replies(store) == [("a", "Sorry, something went wrong.")]
    assert await store.inbox_counts() == {"failed": 1}


async def test_the_demo_tells_the_chat_when_the_bot_failed(
    bot: Bot, store: Store, dispatcher: Dispatcher
) -> None:
    @bot.on_message()
    async def typo(ctx: Context) -> None:
        raise NameError("name 'reply' is not defined")

    demo = Dispatcher(bot, dispatcher.runtime, failure_notice=True)
    await store.inbox_add([message("a", "hi", 1)])
    await drain(make_worker(store, demo), store)
    [(psid, text)] = await replies(store)
    assert psid == "a"
    assert text == "⚠️ The bot failed on this message (NameError: name 'reply' is not defined)."


async def test_a_log_line_that_cannot_be_written_does_not_stall_the_conversation(
    bot: Bot, store: Store, worker: InboxWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botperms.worker.inbox as inbox_module

    @bot.on_message(text="boom")
    async def broken(ctx: Context) -> None:
        raise TimeoutError("always")

    @bot.on_message()
    async def fine(ctx: Context) -> None:
        await ctx.reply(f"ok {ctx.text}")

    class Broken:
        def __getattr__(self, name: str) -> Any:
            def fail(*args: Any, **kwargs: Any) -> None:
                raise RuntimeError("the log renderer broke")

            return fail

    monkeypatch.setattr(inbox_module, "log", Broken())
    await store.inbox_add([message("a", "boom", 1), message("a", "after", 2)])
    await drain(worker, store)
    assert await replies(store) == [("a", "ok after")]
    assert await store.inbox_counts() == {"done": 1, "failed": 1}

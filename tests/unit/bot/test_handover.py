"""The handover protocol from a handler: ``ctx.pass_thread_control`` and friends are outbox
effects (sent exactly once, only if the handler returns, after the replies queued before
them), ``ctx.thread_owner`` is a Graph read, and standby events are never answered by default."""

from __future__ import annotations

import pytest

from botperms import Bot, Context
from botperms.graph.handover import thread_control
from botperms.testing import PAGE_INBOX_APP_ID, BotFailed, ChatTester


def handover_bot() -> Bot:
    bot = Bot()

    @bot.on_message(text="talk to a person")
    async def to_person(ctx: Context) -> None:
        await ctx.reply("Passing you to a person from the page.")
        await ctx.pass_thread_control(metadata="asked for a human")

    @bot.on_message(text="pass then fail")
    async def fails(ctx: Context) -> None:
        await ctx.pass_thread_control()
        raise RuntimeError("after staging the pass")

    @bot.on_message(text="owner")
    async def owner(ctx: Context) -> None:
        await ctx.reply(f"owner {await ctx.thread_owner()}")

    @bot.on_message(text="take")
    async def take(ctx: Context) -> None:
        await ctx.take_thread_control(metadata="back")
        await ctx.reply("I'm back.")

    @bot.on_message(text="ask")
    async def ask(ctx: Context) -> None:
        await ctx.request_thread_control()

    @bot.fallback
    async def anything(ctx: Context) -> None:
        await ctx.reply(f"bot: {ctx.text}")

    return bot


async def test_pass_thread_control_goes_out_once_after_the_reply() -> None:
    async with ChatTester(handover_bot()) as chat:
        replies = await chat.say("talk to a person", psid="1")
        assert replies.texts == ["Passing you to a person from the page."]
        assert chat.graph.handovers == [
            {
                "action": "pass_thread_control",
                "psid": "1",
                "recipient": {"id": "1"},
                "target_app_id": int(PAGE_INBOX_APP_ID),
                "metadata": "asked for a human",
            }
        ]
        # The order in the outbox: the goodbye was posted before the thread moved.
        posts = [c.path for c in chat.graph.calls if c.method == "POST"]
        assert posts[-2:] == ["/me/messages", "/me/pass_thread_control"]
        assert chat.thread_owner("1") == PAGE_INBOX_APP_ID
        # While the Page Inbox has the thread, messages are standby: no answer, no handover.
        assert len(await chat.say("hello?", psid="1")) == 0
        assert len(chat.graph.handovers) == 1
        # The person at the Page Inbox hands it back; the bot answers again.
        await chat.inbox_passes_back("1")
        assert (await chat.say("hello?", psid="1")).text == "bot: hello?"


async def test_a_redelivered_event_passes_the_thread_once() -> None:
    async with ChatTester(handover_bot()) as chat:
        event = {"message": {"mid": "m_same", "text": "talk to a person"}}
        await chat.deliver(event, psid="2")
        await chat.inbox_passes_back("2")
        again = await chat.deliver(event, psid="2")  # Facebook redelivers the same mid
        assert len(again) == 0
        assert [h["action"] for h in chat.graph.handovers] == ["pass_thread_control"]


async def test_a_handler_that_raises_passes_nothing() -> None:
    async with ChatTester(handover_bot()) as chat:
        with pytest.raises(BotFailed, match="after staging the pass"):
            await chat.say("pass then fail", psid="3")
        assert chat.graph.handovers == []
        assert chat.thread_owner("3") != PAGE_INBOX_APP_ID


async def test_thread_owner_take_and_request() -> None:
    async with ChatTester(handover_bot()) as chat:
        assert (await chat.say("owner", psid="4")).text == f"owner {chat.settings.app_id}"
        # Standby messages are not handled, but take_thread_control is also for a bot that
        # answers a postback or a handover event; here the bot owns the thread again first.
        await chat.say("talk to a person", psid="4")
        await chat.inbox_passes_back("4")
        taken = await chat.say("take", psid="4")
        assert taken.texts == ["I'm back."]
        assert chat.graph.handovers[-1]["action"] == "take_thread_control"
        assert chat.graph.handovers[-1]["metadata"] == "back"
        await chat.say("ask", psid="4")
        assert chat.graph.handovers[-1] == {
            "action": "request_thread_control",
            "psid": "4",
            "recipient": {"id": "4"},
        }


def test_thread_control_payloads_are_checked_where_they_are_made() -> None:
    assert thread_control("take_thread_control") == {
        "thread_control": {"action": "take_thread_control"}
    }
    with pytest.raises(ValueError, match="target_app_id"):
        thread_control("take_thread_control", target_app_id="1")
    with pytest.raises(ValueError, match="target_app_id"):
        thread_control("pass_thread_control")
    with pytest.raises(ValueError, match="not an app id"):
        thread_control("pass_thread_control", target_app_id="inbox")
    with pytest.raises(ValueError, match="1000"):
        thread_control("request_thread_control", metadata="x" * 1001)

"""Standby events (another app owns the conversation) are never answered unless the bot has
``@bot.on_standby``; handover events are routed by ``@bot.on_event``."""

from __future__ import annotations

import pytest

from botperms import Bot, Context, Router
from botperms.testing import PAGE_INBOX_APP_ID, BotFailed, ChatTester


def chatty_bot() -> Bot:
    """Answers everything it is given: any message, any postback, a fallback."""
    bot = Bot()

    @bot.on_message
    async def any_message(ctx: Context) -> None:
        await ctx.reply(f"heard {ctx.text}")

    @bot.on_postback("MENU")
    async def menu(ctx: Context) -> None:
        await ctx.reply("menu")

    @bot.fallback
    async def fallback(ctx: Context) -> None:
        await ctx.reply("fallback")

    @bot.on_message(text="human")
    async def human(ctx: Context) -> None:
        await ctx.pass_thread_control()

    return bot


async def test_standby_events_are_never_answered_by_default() -> None:
    async with ChatTester(chatty_bot()) as chat:
        await chat.say("human", psid="1")
        assert chat.thread_owner("1") == PAGE_INBOX_APP_ID
        assert len(await chat.say("hello", psid="1")) == 0
        assert len(await chat.postback("MENU", psid="1")) == 0
        assert len(await chat.inbox_says("1", "Hi, I'm Sam")) == 0
        # Stored and handled (done), not dropped: the bot could read them.
        standby = [item for item in await chat.inbox() if item.standby]
        assert [(i.kind, i.status) for i in standby] == [
            ("message", "done"),
            ("postback", "done"),
            ("echo", "done"),
        ]
        # Another person's thread is the bot's: answered as usual.
        assert (await chat.say("hello", psid="2")).text == "heard hello"


async def test_on_standby_reads_and_takes_the_conversation_back() -> None:
    bot = chatty_bot()
    seen: list[tuple[str, str | None]] = []
    router = Router()

    @bot.on_standby
    async def standby(ctx: Context) -> None:
        assert ctx.event is not None
        seen.append((ctx.event.kind, ctx.text))
        if ctx.text == "bot":
            await ctx.take_thread_control()
            await ctx.reply("back")

    @router.on_standby
    async def also(ctx: Context) -> None:
        seen.append(("router", ctx.psid))

    bot.include_router(router)
    async with ChatTester(bot) as chat:
        await chat.say("human", psid="1")
        assert len(await chat.say("hello", psid="1")) == 0
        await chat.inbox_says("1", "Sam here")
        assert seen == [
            ("message", "hello"),
            ("router", "1"),
            ("echo", "Sam here"),
            ("router", "1"),
        ]
        assert (await chat.say("bot", psid="1")).texts == ["back"]
        assert chat.graph.handovers[-1]["action"] == "take_thread_control"
        assert chat.thread_owner("1") == chat.app_id
        assert (await chat.say("hello", psid="1")).text == "heard hello"


async def test_a_standby_reply_without_taking_the_thread_is_refused() -> None:
    bot = chatty_bot()

    @bot.on_standby
    async def rude(ctx: Context) -> None:
        await ctx.reply("I'm still here!")

    async with ChatTester(bot) as chat:
        await chat.say("human", psid="1")
        with pytest.raises(BotFailed, match="take_thread_control"):
            await chat.say("hello", psid="1")
        assert chat.sent("1").texts == []  # nothing reached the person


async def test_handover_events_are_routed_by_on_event() -> None:
    bot = chatty_bot()

    @bot.on_event("pass_thread_control")
    async def passed(ctx: Context) -> None:
        assert ctx.event is not None
        assert ctx.event.pass_thread_control is not None
        await ctx.reply(f"from {ctx.event.pass_thread_control.previous_owner_app_id}")

    @bot.on_event("request_thread_control")
    async def requested(ctx: Context) -> None:
        await ctx.pass_thread_control(metadata="as asked")

    roles_seen: list[object] = []

    @bot.on_event("app_roles")
    async def roles(ctx: Context) -> None:
        assert ctx.event is not None
        roles_seen.append(ctx.event.app_roles)

    async with ChatTester(bot) as chat:
        await chat.say("human", psid="1")
        assert (await chat.inbox_passes_back("1")).text == f"from {PAGE_INBOX_APP_ID}"
        assert (await chat.say("hi", psid="1")).text == "heard hi"
        await chat.inbox_requests("1")
        assert chat.graph.handovers[-1]["metadata"] == "as asked"
        assert chat.thread_owner("1") == PAGE_INBOX_APP_ID
        await chat.deliver({"app_roles": {"100000000000001": ["primary_receiver"]}}, psid=None)
        assert roles_seen == [{"100000000000001": ["primary_receiver"]}]

"""Middleware: ``async def mw(ctx, call_next)`` around events, in registration order; it can
short-circuit, time or log. A router's middleware wraps only that router's handlers."""

from __future__ import annotations

import time

import pytest

from botperms import Bot, Context, Next, Router, requires
from botperms.bot.registration import RegistrationError
from botperms.store import Store
from tests.unit.bot.conftest import Harness, event, postback, sent, template_text, text


def tracer(log: list[str], name: str):  # type: ignore[no-untyped-def]
    async def middleware(ctx: Context, call_next: Next) -> None:
        log.append(f"{name} in")
        await call_next(ctx)
        log.append(f"{name} out")

    return middleware


async def test_middleware_runs_around_the_handler_in_registration_order(
    bot: Bot, dispatcher: Harness
) -> None:
    log: list[str] = []
    bot.middleware(tracer(log, "first"))
    bot.middleware(tracer(log, "second"))

    @bot.on_message(text="hi")
    async def hi(ctx: Context) -> None:
        log.append("handler")

    await dispatcher.handle(text("hi"))
    assert log == ["first in", "second in", "handler", "second out", "first out"]


async def test_bot_middleware_sees_every_event_even_without_a_route(
    bot: Bot, dispatcher: Harness
) -> None:
    kinds: list[str] = []

    @bot.middleware
    async def count(ctx: Context, call_next: Next) -> None:
        kinds.append(ctx.event.kind if ctx.event else "?")
        await call_next(ctx)

    await dispatcher.handle(text("nobody answers this"))
    await dispatcher.handle(event(read={"watermark": 1}))
    await dispatcher.handle(postback("NOPE"))
    assert kinds == ["message", "read", "postback"]


async def test_a_middleware_can_short_circuit_and_what_it_sent_goes_out(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    ran: list[str] = []

    @bot.middleware
    async def blocklist(ctx: Context, call_next: Next) -> None:
        if ctx.psid == "mallory":
            await ctx.reply("You're blocked.")
            return  # no call_next: no route, no handler
        await call_next(ctx)

    @bot.on_message()
    async def anything(ctx: Context) -> None:
        ran.append(ctx.psid)
        await ctx.reply("hello")

    await dispatcher.handle(text("hi", psid="mallory"))
    await dispatcher.handle(text("hi", psid="alice"))
    assert ran == ["alice"]
    assert await sent(store, "mallory") == [{"text": "You're blocked."}]
    assert await sent(store, "alice") == [{"text": "hello"}]


async def test_a_middleware_can_time_the_handler(bot: Bot, dispatcher: Harness) -> None:
    timings: list[float] = []

    @bot.middleware
    async def timer(ctx: Context, call_next: Next) -> None:
        started = time.perf_counter()
        await call_next(ctx)
        timings.append(time.perf_counter() - started)

    @bot.on_message()
    async def slow(ctx: Context) -> None:
        time.sleep(0.02)

    await dispatcher.handle(text("hi"))
    [elapsed] = timings
    assert elapsed >= 0.02


async def test_middleware_wraps_the_login_prompt_of_a_requires_handler(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    log: list[str] = []
    bot.middleware(tracer(log, "mw"))

    @bot.on_message(text="likes")
    @requires("user_likes")
    async def likes(ctx: Context) -> None:
        log.append("handler")

    await dispatcher.handle(text("likes"))
    assert log == ["mw in", "mw out"]  # not granted: the framework prompted instead
    [prompt] = await sent(store)
    assert template_text(prompt) == bot.prompts.login


async def test_a_routers_middleware_wraps_only_its_own_handlers(
    bot: Bot, dispatcher: Harness
) -> None:
    log: list[str] = []
    bot.middleware(tracer(log, "bot"))
    admin, inner = Router("admin"), Router("inner")
    admin.middleware(tracer(log, "admin"))
    inner.middleware(tracer(log, "inner"))
    admin.include_router(inner)
    bot.include_router(admin)

    async def note(ctx: Context) -> None:
        log.append(f"handler {ctx.text}")

    bot.on_message(text="public")(note)
    admin.on_message(text="stats")(note)
    inner.on_message(text="deep")(note)
    for body in ("public", "stats", "deep"):
        await dispatcher.handle(text(body))
    assert log == [
        *["bot in", "handler public", "bot out"],
        *["bot in", "admin in", "handler stats", "admin out", "bot out"],
        *["bot in", "admin in", "inner in", "handler deep", "inner out", "admin out", "bot out"],
    ]


async def test_an_exception_in_a_middleware_fails_the_event_and_names_it(
    bot: Bot, dispatcher: Harness
) -> None:
    @bot.middleware
    async def broken(ctx: Context, call_next: Next) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError) as error:
        await dispatcher.handle(text("hi"))
    from botperms.bot.chain import handler_name

    assert handler_name(error.value) == f"{__name__}.{broken.__qualname__}"


def test_a_middleware_must_take_ctx_and_call_next() -> None:
    with pytest.raises(RegistrationError, match=r"takes \(ctx\), but botperms calls it with"):

        @Bot().middleware  # type: ignore[arg-type]
        async def wrong(ctx: Context) -> None:
            pass

    with pytest.raises(RegistrationError, match="plain function"):

        @Bot().middleware  # type: ignore[arg-type]
        def sync(ctx: Context, call_next: Next) -> None:
            pass

"""Custom filters: ``Callable[[Context], bool | Awaitable[bool]]`` beside ``text=``,
``pattern=`` and ``quick_reply=``, positional or ``filters=[...]``."""

from __future__ import annotations

from typing import Any

import pytest

from botperms import Bot, Context, Router
from botperms.bot.registration import RegistrationError
from botperms.store import Store
from tests.unit.bot.conftest import Harness, grant, postback, sent, text


def answer(words: str):  # type: ignore[no-untyped-def]
    async def handler(ctx: Context) -> None:
        await ctx.reply(words)

    return handler


def logged_in(ctx: Context) -> bool:
    return ctx.grant is not None


async def is_admin(ctx: Context) -> bool:
    return ctx.psid == "admin"


async def said(dispatcher: Harness, store: Store, incoming: Any, psid: str = "alice") -> list[str]:
    await dispatcher.handle(incoming)
    return [message["text"] for message in await sent(store, psid)]


async def test_a_sync_filter_chooses_between_routes_of_one_text(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    bot.on_message(text="me")(answer("log in first"))
    bot.on_message(logged_in, text="me")(answer("you're logged in"))  # registered second
    assert await said(dispatcher, store, text("me")) == ["log in first"]
    await grant(store)
    assert await said(dispatcher, store, text("me")) == ["log in first", "you're logged in"]


async def test_an_async_filter_by_keyword_and_on_postbacks(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    bot.on_postback("STATS", filters=[is_admin])(answer("stats"))
    bot.fallback(answer("no"))
    assert await said(dispatcher, store, postback("STATS", psid="admin"), "admin") == ["stats"]
    assert await said(dispatcher, store, postback("STATS")) == ["no"]


async def test_all_filters_must_pass(bot: Bot, dispatcher: Harness, store: Store) -> None:
    bot.on_message(logged_in, filters=[is_admin])(answer("admin area"))
    bot.fallback(answer("fallback"))
    await grant(store, "admin")
    assert await said(dispatcher, store, text("x", psid="admin"), "admin") == ["admin area"]
    await grant(store, "alice")
    assert await said(dispatcher, store, text("x")) == ["fallback"]


async def test_a_failing_filter_falls_through_to_the_next_step(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    # A filtered quick-reply route that says no: the chip's text is matched next, as for a
    # payload without a route.
    bot.on_message(is_admin, quick_reply="GO")(answer("admin go"))
    bot.on_message(text="go")(answer("text go"))
    bot.on_message(pattern="o$", filters=[lambda ctx: False])(answer("never"))
    tapped = text("Go", quick_reply={"payload": "GO"})
    assert await said(dispatcher, store, tapped) == ["text go"]


async def test_lambdas_and_bool_annotated_filters_go_positionally_alone(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    bot.on_message(lambda ctx: ctx.text == "lambda")(answer("by lambda"))
    bot.on_message(is_admin)(answer("by async filter"))  # `-> bool`: a filter, not a handler
    bot.fallback(answer("fallback"))
    assert await said(dispatcher, store, text("lambda")) == ["by lambda"]
    assert await said(dispatcher, store, text("x", psid="admin"), "admin") == ["by async filter"]
    assert await said(dispatcher, store, text("other")) == ["by lambda", "fallback"]


async def test_filters_see_the_grant_and_may_read_the_store_through_ctx(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    seen: list[tuple[str | None, bool]] = []

    async def spy(ctx: Context) -> bool:
        seen.append((ctx.text, ctx.has_scopes("user_likes")))
        return True

    bot.on_message(spy)(answer("ok"))  # unannotated async alone would be a handler:
    assert bot.route(text("hi")) is None  # so this route is filtered, and route() skips it
    await grant(store)
    await dispatcher.handle(text("hi"))
    assert seen == [("hi", True)]


def test_filter_mistakes_are_told_at_registration() -> None:
    bot = Bot()
    with pytest.raises(RegistrationError, match="conditions go by name, as in text='likes'"):
        bot.on_message("likes")  # type: ignore[arg-type]
    with pytest.raises(RegistrationError, match="is not a callable taking ctx"):
        bot.on_message(42, text="x")  # type: ignore[arg-type]
    with pytest.raises(RegistrationError, match="must take one argument, ctx"):
        bot.on_message(lambda: True, text="x")  # type: ignore[arg-type]
    with pytest.raises(RegistrationError, match="filter passed alone must be annotated"):

        @bot.on_message  # type: ignore[arg-type]
        def plain(ctx):  # type: ignore[no-untyped-def]
            pass


async def test_a_filter_that_raises_fails_the_event_blaming_its_router(
    bot: Bot, dispatcher: Harness
) -> None:
    from botperms.bot.chain import owner_of

    def broken(ctx: Context) -> bool:
        raise LookupError("no such thing")

    router = Router("shop")
    router.on_message(broken, text="buy")(answer("bought"))
    bot.include_router(router)
    with pytest.raises(LookupError) as error:
        await dispatcher.handle(text("buy"))
    assert owner_of(error.value) is router

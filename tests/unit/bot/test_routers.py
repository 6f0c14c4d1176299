"""Routers: the same decorators as ``Bot``, included (and nested) into one precedence order."""

from __future__ import annotations

import pytest

from botperms import Bot, Context, Router
from botperms.bot.registration import RegistrationError
from botperms.messenger import MessagingEvent
from botperms.store import InboxItem, Send, Store
from tests.unit.bot.conftest import PAGE_ID, Harness, postback, sent, text


def answer(words: str):  # type: ignore[no-untyped-def]
    async def handler(ctx: Context) -> None:
        await ctx.reply(words)

    handler.__name__ = words.replace(" ", "_")
    return handler


async def replies(dispatcher: Harness, store: Store, *events: object) -> list[str]:
    for incoming in events:
        await dispatcher.handle(incoming)  # type: ignore[arg-type]
    return [message["text"] for message in await sent(store)]


async def test_an_included_routers_routes_are_the_bots(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    likes = Router("likes")
    likes.on_message(text="likes")(answer("your likes"))
    likes.on_postback("MY_LIKES")(answer("your likes again"))
    assert bot.include_router(likes) is likes
    assert await replies(dispatcher, store, text("Likes"), postback("MY_LIKES")) == [
        "your likes",
        "your likes again",
    ]
    assert [kind for kind, _, _ in bot.registered()] == ["text", "postback"]
    assert bot.routers == [likes]


async def test_routers_nest_and_registering_after_the_include_counts(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    outer, inner = Router("outer"), Router("inner")
    outer.include_router(inner)
    bot.include_router(outer)
    inner.on_message(text="deep")(answer("from the inner router"))  # after both includes
    assert await replies(dispatcher, store, text("deep")) == ["from the inner router"]
    assert bot.routers == [outer, inner]


async def test_precedence_holds_across_routers_whatever_the_order(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    # The bot's own route is the least specific, and it was registered first: the router's
    # exact text still wins, and the bot's pattern still beats the router's catch-all.
    bot.on_message(pattern="^he")(answer("bot pattern"))
    router = Router()
    router.on_message()(answer("router any"))
    router.on_message(text="hello")(answer("router text"))
    router.fallback(answer("router fallback"))
    bot.include_router(router)
    got = await replies(dispatcher, store, text("hello"), text("hey"), text("bye"), postback("X"))
    assert got == ["router text", "bot pattern", "router any", "router fallback"]


async def test_patterns_are_tried_bot_first_then_routers_in_include_order(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    first, second = Router("first"), Router("second")
    second.on_message(pattern="a")(answer("second"))
    first.on_message(pattern="a")(answer("first"))
    bot.include_router(first)
    bot.include_router(second)
    bot.on_message(pattern="a")(answer("bot"))
    router_only = Router("third")
    router_only.on_message(pattern="b")(answer("third"))
    bot.include_router(router_only)
    assert await replies(dispatcher, store, text("a"), text("b")) == ["bot", "third"]


@pytest.mark.parametrize(
    "register",
    [
        pytest.param(lambda r: r.on_message(text="Hi"), id="text"),
        pytest.param(lambda r: r.on_message(quick_reply="Q"), id="quick_reply"),
        pytest.param(lambda r: r.on_postback("P"), id="postback"),
        pytest.param(lambda r: r.on_event("reaction"), id="on_event"),
        pytest.param(lambda r: r.on_message(), id="any"),
        pytest.param(lambda r: r.fallback(), id="fallback"),
    ],
)
def test_two_plain_routes_for_one_key_in_a_tree_are_refused(register: object) -> None:
    bot, router = Bot(), Router("admin")
    register(bot)(answer("bot"))  # type: ignore[operator]
    register(router)(answer("router"))  # type: ignore[operator]
    with pytest.raises(RegistrationError, match=r"Bot\(.*\) and Router\('admin'\) both handle"):
        bot.include_router(router)
    assert bot.routers == []  # a refused include leaves nothing half-added
    late = Router("late")
    bot.include_router(late)
    with pytest.raises(RegistrationError, match="both handle"):
        register(late)(answer("late"))  # type: ignore[operator]


def test_the_same_key_with_filters_is_no_conflict() -> None:
    bot, router = Bot(), Router()
    bot.on_message(text="hi")(answer("plain"))
    router.on_message(lambda ctx: True, text="hi")(answer("filtered"))
    bot.include_router(router)
    assert [handler.__name__ for _, _, handler in bot.registered()] == ["filtered", "plain"]


def test_include_mistakes_are_refused() -> None:
    bot, router = Bot(), Router("r")
    with pytest.raises(RegistrationError, match="takes a Router, not a Bot"):
        bot.include_router(Bot())  # type: ignore[arg-type]
    bot.include_router(router)
    with pytest.raises(RegistrationError, match="already included"):
        Bot().include_router(router)
    top, below = Router("top"), Router("below")
    top.include_router(below)
    with pytest.raises(RegistrationError, match=r"Router\('top'\) cannot include itself"):
        below.include_router(top)
    with pytest.raises(RegistrationError, match="cannot include itself"):
        top.include_router(top)


def test_a_router_tells_typos_as_a_router() -> None:
    with pytest.raises(AttributeError, match="Router has no decorator on_mesage"):
        Router().on_mesage  # type: ignore[attr-defined]  # noqa: B018


def item_of(incoming: MessagingEvent) -> InboxItem:
    return InboxItem(
        id=-1,
        event_key=incoming.key(),
        page_id=PAGE_ID,
        psid=incoming.psid,
        kind=incoming.kind,
        payload=incoming.as_dict(),
        event_time=incoming.timestamp,
        attempts=4,
        standby=False,
    )


async def test_on_error_runs_for_the_failed_handlers_router_or_the_nearest_above(
    bot: Bot, dispatcher: Harness
) -> None:
    shop, cart, quiet = Router("shop"), Router("cart"), Router("quiet")
    shop.include_router(cart)
    bot.include_router(shop)
    bot.include_router(quiet)

    async def broken(ctx: Context) -> None:
        raise RuntimeError("down")

    def apology(words: str):  # type: ignore[no-untyped-def]
        async def on_error(ctx: Context, error: BaseException) -> None:
            await ctx.reply(f"{words}: {error}")

        return on_error

    bot.on_error(apology("bot"))
    shop.on_error(apology("shop"))
    bot.on_message(text="home")(broken)
    shop.on_message(text="buy")(broken)
    cart.on_message(text="pay")(broken)  # cart has no on_error: shop's answers
    quiet.on_message(text="hush")(broken)  # quiet has none, nor has anything but the bot
    expected = {"home": "bot: down", "buy": "shop: down", "pay": "shop: down", "hush": "bot: down"}
    for body, apologies in expected.items():
        incoming = text(body)
        with pytest.raises(RuntimeError) as error:
            await dispatcher.dispatcher.handle(item_of(incoming))
        effects = await dispatcher.dispatcher.dead_lettered(item_of(incoming), error.value)
        assert [effect.payload for effect in effects if isinstance(effect, Send)] == [
            {"text": apologies}
        ]

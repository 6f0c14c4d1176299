"""Bot routing and the Dispatcher: which handler an event reaches, and with what context."""

from __future__ import annotations

from typing import Any

import pytest

from botperms import FailureReason
from botperms.bot import Bot, Context
from botperms.bot.context import Handler
from botperms.bot.dispatcher import Dispatcher
from botperms.messenger import MessagingEvent
from botperms.store import Store
from tests.unit.bot.conftest import PAGE_ID, Harness, event, grant, postback, text


class Calls:
    """Handlers that note their name (and the context they got) when called."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Context]] = []

    def handler(self, name: str) -> Handler:
        async def handle(ctx: Context) -> None:
            self.log.append((name, ctx))

        handle.__name__ = name
        return handle

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.log]


def routed(bot: Bot, event: MessagingEvent) -> str | None:
    handler = bot.route(event)
    return None if handler is None else handler.__name__


@pytest.fixture
def calls() -> Calls:
    return Calls()


# -- routing -------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["likes", "LIKES", "  Likes\n", "\tlIkEs "])
def test_text_matches_ignoring_case_and_surrounding_whitespace(
    bot: Bot, calls: Calls, body: str
) -> None:
    bot.on_message(text="Likes")(calls.handler("likes"))
    assert routed(bot, text(body)) == "likes"


@pytest.mark.parametrize("body", ["likes please", "like", "l ikes", "", None])
def test_text_must_be_the_whole_message(bot: Bot, calls: Calls, body: str | None) -> None:
    bot.on_message(text="likes")(calls.handler("likes"))
    assert routed(bot, text(body)) is None


def test_a_pattern_is_searched_case_insensitively(bot: Bot, calls: Calls) -> None:
    bot.on_message(pattern=r"\bweather\b")(calls.handler("weather"))
    assert routed(bot, text("What's the WEATHER like?")) == "weather"
    assert routed(bot, text("weatherman")) is None


def test_precedence_does_not_depend_on_registration_order(calls: Calls) -> None:
    def register(bot: Bot, order: list[str]) -> None:
        routes = {
            "quick_reply": lambda: bot.on_message(quick_reply="LIKES")(calls.handler("tap")),
            "text": lambda: bot.on_message(text="likes")(calls.handler("exact")),
            "pattern": lambda: bot.on_message(pattern="like")(calls.handler("pattern")),
            "any": lambda: bot.on_message()(calls.handler("any")),
            "fallback": lambda: bot.fallback(calls.handler("fallback")),
        }
        for name in order:
            routes[name]()

    orders = [
        ["quick_reply", "text", "pattern", "any", "fallback"],
        ["fallback", "any", "pattern", "text", "quick_reply"],
        ["pattern", "any", "quick_reply", "fallback", "text"],
    ]
    for order in orders:
        bot = Bot()
        register(bot, order)
        # A tap on a quick reply with a routed payload beats the text written on it.
        assert routed(bot, text("likes", quick_reply={"payload": "LIKES"})) == "tap", order
        assert routed(bot, text("likes")) == "exact", order
        assert routed(bot, text("I like it")) == "pattern", order
        assert routed(bot, text("hello")) == "any", order
        assert routed(bot, postback("ANY")) == "fallback", order


def test_without_a_route_for_its_payload_a_quick_reply_is_the_text_on_it(
    bot: Bot, calls: Calls
) -> None:
    bot.on_message(text="likes")(calls.handler("exact"))
    bot.on_message(pattern="blue")(calls.handler("pattern"))
    bot.fallback(calls.handler("fallback"))
    assert routed(bot, text("Likes", quick_reply={"payload": "UNROUTED"})) == "exact"
    assert routed(bot, text("Blue", quick_reply={"payload": "COLOR_BLUE"})) == "pattern"
    assert routed(bot, text("Red", quick_reply={"payload": "COLOR_RED"})) == "fallback"


def test_patterns_are_tried_in_registration_order(calls: Calls) -> None:
    bot = Bot()
    bot.on_message(pattern="like")(calls.handler("first"))
    bot.on_message(pattern="likes")(calls.handler("second"))
    assert routed(bot, text("my likes")) == "first"


def test_one_handler_for_several_conditions(bot: Bot, calls: Calls) -> None:
    bot.on_message(text="log in", quick_reply="LOG_IN", pattern=r"^sign ?in")(
        calls.handler("login")
    )
    assert routed(bot, text("Log  In")) == "login"  # inner whitespace counts once
    assert routed(bot, text("Go", quick_reply={"payload": "LOG_IN"})) == "login"
    assert routed(bot, text("signin please")) == "login"
    assert routed(bot, text("log in now")) is None


def test_registering_a_text_again_replaces_its_handler(bot: Bot, calls: Calls) -> None:
    bot.on_message(text="likes")(calls.handler("old"))
    bot.on_message(text="LIKES")(calls.handler("new"))
    bot.on_message()(calls.handler("any-old"))
    bot.on_message()(calls.handler("any-new"))
    assert routed(bot, text("likes")) == "new"
    assert routed(bot, text("other")) == "any-new"


def test_an_empty_text_route_is_refused(bot: Bot) -> None:
    with pytest.raises(ValueError, match="needs some text"):
        bot.on_message(text="  ")


def test_the_routing_rules_are_documented() -> None:
    doc = " ".join((Bot.on_message.__doc__ or "").split())
    assert "ignoring case and surrounding whitespace" in doc
    assert "case-insensitively" in doc
    assert (
        "a quick reply's exact payload first, then exact text, then patterns (in the order they "
        "were registered; the first match wins), then the route without conditions, then "
        ":meth:`fallback`" in doc
    )
    assert "exact payload" in (Bot.on_postback.__doc__ or "")
    assert "message or postback" in (Bot.fallback.__doc__ or "")
    assert "ignored" in (Bot.route.__doc__ or "")


def test_a_quick_reply_routes_by_its_payload_not_its_text(bot: Bot, calls: Calls) -> None:
    bot.on_message(quick_reply="COLOR_RED")(calls.handler("red"))
    bot.fallback(calls.handler("fallback"))
    assert routed(bot, text("Red", quick_reply={"payload": "COLOR_RED"})) == "red"
    assert routed(bot, text("Red", quick_reply={"payload": "COLOR_BLUE"})) == "fallback"
    assert routed(bot, text("COLOR_RED")) == "fallback"  # typed, not tapped


def test_a_route_without_conditions_takes_any_message(bot: Bot, calls: Calls) -> None:
    bot.on_message()(calls.handler("any"))
    sticker = text(
        None, attachments=[{"type": "image", "payload": {"sticker_id": 369239263222822}}]
    )
    assert routed(bot, sticker) == "any"
    assert routed(bot, text("hello")) == "any"


def test_postbacks_route_by_exact_payload(bot: Bot, calls: Calls) -> None:
    bot.on_postback("GET_STARTED")(calls.handler("start"))
    bot.on_postback("LOG_OUT")(calls.handler("logout"))
    bot.on_message(text="LOG_OUT")(calls.handler("text"))
    assert routed(bot, postback("GET_STARTED")) == "start"
    assert routed(bot, postback("LOG_OUT")) == "logout"
    assert routed(bot, postback("log_out")) is None  # payloads are exact, unlike texts


def test_registering_a_payload_again_replaces_its_handler(bot: Bot, calls: Calls) -> None:
    bot.on_postback("LOG_OUT")(calls.handler("old"))
    bot.on_postback("LOG_OUT")(calls.handler("new"))
    assert routed(bot, postback("LOG_OUT")) == "new"


def test_unmatched_messages_and_postbacks_go_to_the_fallback(bot: Bot, calls: Calls) -> None:
    bot.on_message(text="likes")(calls.handler("likes"))
    bot.on_postback("LOG_OUT")(calls.handler("logout"))
    assert routed(bot, text("hello")) is None
    assert routed(bot, postback("OTHER")) is None
    bot.fallback(calls.handler("fallback"))
    assert routed(bot, text("hello")) == "fallback"
    assert routed(bot, postback("OTHER")) == "fallback"
    assert routed(bot, postback(None)) == "fallback"
    assert routed(bot, text("likes")) == "likes"


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"delivery": {"mids": ["m1"], "watermark": 1000}}, id="delivery"),
        pytest.param({"read": {"watermark": 1000}}, id="read"),
        pytest.param({"reaction": {"mid": "m1", "action": "react", "emoji": "👍"}}, id="reaction"),
        pytest.param({"optin": {"ref": "x"}}, id="optin"),
        pytest.param({"referral": {"ref": "ad", "source": "ADS"}}, id="referral"),
        pytest.param({"account_linking": {"status": "unlinked"}}, id="account_linking"),
        pytest.param({"something_new": {"x": 1}}, id="unknown"),
    ],
)
async def test_events_other_than_messages_and_postbacks_are_ignored(
    bot: Bot, calls: Calls, dispatcher: Dispatcher, fields: dict[str, Any]
) -> None:
    bot.on_message()(calls.handler("any"))
    bot.fallback(calls.handler("fallback"))
    ignored = event(**fields)
    assert bot.route(ignored) is None
    await dispatcher.handle(ignored)
    assert calls.log == []


async def test_echoes_of_the_pages_own_messages_are_ignored(
    bot: Bot, calls: Calls, dispatcher: Dispatcher
) -> None:
    bot.on_message()(calls.handler("any"))
    echo = MessagingEvent.model_validate(
        {
            "sender": {"id": PAGE_ID},
            "recipient": {"id": "alice"},
            "timestamp": 1000,
            "message": {"mid": "m1", "text": "likes", "is_echo": True, "app_id": 1},
        }
    )
    await dispatcher.handle(echo)
    assert calls.log == []


# -- the dispatcher --------------------------------------------------------------------------


async def test_handle_gives_the_handler_a_context_for_the_person(
    bot: Bot, calls: Calls, dispatcher: Dispatcher
) -> None:
    bot.on_message(text="likes")(calls.handler("likes"))
    incoming = text(" likes ", psid="alice")
    await dispatcher.handle(incoming)
    [(name, ctx)] = calls.log
    assert name == "likes"
    assert (ctx.page_id, ctx.psid, ctx.event, ctx.text) == (PAGE_ID, "alice", incoming, " likes ")
    assert ctx.grant is None
    assert not ctx.has_scopes("user_likes")


async def test_handle_gives_the_context_the_persons_active_grant(
    bot: Bot, calls: Calls, dispatcher: Dispatcher, store: Store
) -> None:
    bot.on_postback("GO")(calls.handler("go"))
    await grant(store, "alice", granted=("email",))
    newest = await grant(store, "alice", granted=("email", "user_likes"))
    await grant(store, "bob", granted=("email",))
    await dispatcher.handle(postback("GO", psid="alice"))
    [(_, ctx)] = calls.log
    assert ctx.grant is not None
    assert (ctx.grant.id, ctx.grant.psid) == (newest.id, "alice")
    assert ctx.has_scopes("email", "user_likes")


async def test_an_event_without_a_sender_is_ignored(
    bot: Bot, calls: Calls, dispatcher: Dispatcher
) -> None:
    bot.on_message()(calls.handler("any"))
    anonymous = MessagingEvent.model_validate(
        {
            "sender": {"user_ref": "ref-1"},
            "recipient": {"id": PAGE_ID},
            "timestamp": 1,
            "message": {"mid": "m1", "text": "hi"},
        }
    )
    await dispatcher.handle(anonymous)
    assert calls.log == []


async def test_a_handlers_error_reaches_the_caller_so_the_inbox_retries(
    bot: Bot, dispatcher: Dispatcher
) -> None:
    @bot.fallback
    async def broken(ctx: Context) -> None:
        raise RuntimeError("bot bug")

    with pytest.raises(RuntimeError, match="bot bug"):
        await dispatcher.handle(text("hi"))


async def test_login_succeeded_passes_the_declined_scopes(
    bot: Bot, dispatcher: Dispatcher, store: Store
) -> None:
    seen: list[tuple[str, Context, tuple[str, ...]]] = []

    @bot.on_login
    async def first(ctx: Context, declined: tuple[str, ...]) -> None:
        seen.append(("first", ctx, declined))

    @bot.on_login
    async def second(ctx: Context, declined: tuple[str, ...]) -> None:
        seen.append(("second", ctx, declined))

    record = await grant(
        store, "alice", granted=("email", "public_profile"), declined=("user_likes",)
    )
    await dispatcher.login_succeeded(record, ("email", "user_likes", "user_posts"))
    assert seen == []  # queued, not handled inside the browser's request
    assert await handle_queued(store, dispatcher) == 1
    assert [(name, declined) for name, _, declined in seen] == [
        ("first", ("user_likes", "user_posts")),
        ("second", ("user_likes", "user_posts")),
    ]
    ctx = seen[0][1]
    assert (ctx.page_id, ctx.psid, ctx.event) == (PAGE_ID, "alice", None)
    assert ctx.grant is not None
    assert ctx.grant.id == record.id

    seen.clear()
    await dispatcher.login_succeeded(record, ("email",))  # the same grant again: not twice
    assert await handle_queued(store, dispatcher) == 0
    newer = await grant(store, "alice", granted=("email", "public_profile"))
    await dispatcher.login_succeeded(newer, ("email",))
    assert await handle_queued(store, dispatcher) == 1
    assert [declined for _, _, declined in seen] == [(), ()]


async def test_login_failed_passes_the_reason_as_a_failure_reason(
    bot: Bot, dispatcher: Dispatcher, store: Store
) -> None:
    seen: list[tuple[Context, FailureReason]] = []

    @bot.on_login_failed
    async def failed(ctx: Context, reason: FailureReason) -> None:
        seen.append((ctx, reason))

    await dispatcher.login_failed(PAGE_ID, "alice", FailureReason.ACCESS_DENIED)
    earlier = await grant(store, "bob")
    await dispatcher.login_failed(PAGE_ID, "bob", "state_expired")  # as stored: its value
    assert await handle_queued(store, dispatcher) == 2
    [(alice, alice_reason), (bob, bob_reason)] = seen
    assert (alice.psid, alice.grant) == ("alice", None)
    assert alice_reason is FailureReason.ACCESS_DENIED
    # The enum's members are its stored strings, so code comparing with strings still works.
    assert alice_reason == "access_denied"
    assert bob_reason is FailureReason.STATE_EXPIRED
    assert bob_reason.fresh_link_helps
    assert not alice_reason.fresh_link_helps
    # A failed re-request leaves the earlier grant in place, and the handler can see it.
    assert bob.psid == "bob"
    assert bob.grant is not None
    assert bob.grant.id == earlier.id


async def test_login_outcomes_without_handlers_are_fine(
    dispatcher: Dispatcher, store: Store
) -> None:
    record = await grant(store)
    await dispatcher.login_succeeded(record, ("user_likes",))
    await dispatcher.login_failed(PAGE_ID, "alice", "access_denied")
    assert await handle_queued(store, dispatcher) == 2


async def test_a_login_revoked_before_its_turn_is_not_announced(
    bot: Bot, calls: Calls, dispatcher: Dispatcher, store: Store
) -> None:
    seen: list[tuple[str, ...]] = []

    @bot.on_login
    async def announce(ctx: Context, declined: tuple[str, ...]) -> None:
        seen.append(declined)

    record = await grant(store)
    await dispatcher.login_succeeded(record, ("user_likes",))
    await store.revoke_grant(PAGE_ID, "alice", reason="logout")
    assert await handle_queued(store, dispatcher) == 1
    assert seen == []


async def handle_queued(store: Store, dispatcher: Harness) -> int:
    """Runs what the dispatcher queued in the inbox, as the inbox worker would."""
    from datetime import UTC, datetime

    handled = 0
    while items := await store.inbox_pending(datetime.now(UTC), 100):
        for item in items:
            await dispatcher.handle_item(item)
        handled += len(items)
    return handled


async def test_an_expired_grant_is_no_grant_and_is_marked_expired(
    bot: Bot, calls: Calls, dispatcher: Dispatcher, store: Store
) -> None:
    from datetime import UTC, datetime, timedelta

    bot.on_postback("GO")(calls.handler("go"))
    await store.save_grant(
        page_id=PAGE_ID,
        psid="alice",
        asid="asid-1",
        access_token="EAAexpiredtoken0123456789",
        scopes_granted=["user_likes"],
        scopes_declined=[],
        expires_at=datetime.now(UTC) - timedelta(minutes=1),
        data_access_expires_at=None,
        flow="web",
    )
    await dispatcher.handle(postback("GO", psid="alice"))
    [(_, ctx)] = calls.log
    assert ctx.grant is None
    assert not ctx.has_scopes("user_likes")
    assert await store.active_grant(PAGE_ID, "alice") is None

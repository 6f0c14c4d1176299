"""``@bot.on_event(kind)``: the webhook kinds that have no decorator of their own."""

from __future__ import annotations

import re
from typing import Any

import pytest

from botperms import Bot, Context, Router
from botperms.bot.registration import EVENT_HANDLER_KINDS, RegistrationError
from botperms.messenger import MessagingEvent
from botperms.store import Store
from tests.unit.bot.conftest import PAGE_ID, Harness, event, sent

# One body per kind, as Facebook sends it (contract §1.4); the ones without a person first.
PAGE_LEVEL: dict[str, dict[str, Any]] = {
    "policy_enforcement": {"policy_enforcement": {"action": "block", "reason": "spam"}},
    "app_roles": {"app_roles": {"123": ["primary_receiver"]}},
}
PERSONAL: dict[str, dict[str, Any]] = {
    "reaction": {"reaction": {"mid": "m1", "action": "react", "emoji": "👍", "reaction": "like"}},
    "read": {"read": {"watermark": 1000}},
    "delivery": {"delivery": {"mids": ["m1"], "watermark": 1000}},
    "referral": {"referral": {"ref": "signup-42", "source": "SHORTLINK", "type": "OPEN_THREAD"}},
    "optin": {"optin": {"ref": "x", "type": "one_time_notif_req"}},
    "message_edit": {"message_edit": {"mid": "m1", "text": "edited", "num_edit": 1}},
    "pass_thread_control": {
        "pass_thread_control": {"previous_owner_app_id": "1", "new_owner_app_id": "2"}
    },
    "take_thread_control": {
        "take_thread_control": {"previous_owner_app_id": "2", "new_owner_app_id": "1"}
    },
    "request_thread_control": {"request_thread_control": {"requested_owner_app_id": "2"}},
}


def page_event(**fields: Any) -> MessagingEvent:
    return MessagingEvent.model_validate(
        {"recipient": {"id": PAGE_ID}, "timestamp": 1000, **fields}
    )


def echo() -> MessagingEvent:
    return MessagingEvent.model_validate(
        {
            "sender": {"id": PAGE_ID},
            "recipient": {"id": "alice"},
            "timestamp": 1000,
            "message": {"mid": "m9", "text": "sent by a human", "is_echo": True, "app_id": 7},
        }
    )


def test_the_table_covers_every_kind_the_decorator_accepts() -> None:
    assert set(EVENT_HANDLER_KINDS) == {*PAGE_LEVEL, *PERSONAL, "echo"}


@pytest.mark.parametrize("kind", sorted(PERSONAL))
async def test_each_kind_reaches_its_handler_with_the_person(
    bot: Bot, dispatcher: Harness, store: Store, kind: str
) -> None:
    seen: list[tuple[str, Any]] = []

    @bot.on_event(kind)
    async def handler(ctx: Context) -> None:
        assert ctx.event is not None
        seen.append((ctx.psid, getattr(ctx.event, kind)))
        await ctx.reply(f"saw {kind}")

    bot.on_message()(answer_nothing)
    bot.fallback(answer_nothing)
    incoming = event(**PERSONAL[kind])
    assert bot.route(incoming) is handler
    await dispatcher.handle(incoming)
    [(psid, body)] = seen
    assert psid == "alice"
    assert body == getattr(incoming, kind)
    assert await sent(store) == [{"text": f"saw {kind}"}]


async def answer_nothing(ctx: Context) -> None:
    raise AssertionError("another event kind must not reach message routes")


async def test_echoes_reach_on_event_echo_with_the_person_as_psid(
    bot: Bot, dispatcher: Harness
) -> None:
    seen: list[tuple[str, str | None]] = []

    @bot.on_event("echo")
    async def echoed(ctx: Context) -> None:
        assert ctx.event is not None
        assert ctx.event.message is not None
        seen.append((ctx.psid, ctx.event.message.text))

    bot.on_message()(answer_nothing)
    await dispatcher.handle(echo())
    assert seen == [("alice", "sent by a human")]


@pytest.mark.parametrize("kind", sorted(PAGE_LEVEL))
async def test_page_level_kinds_reach_handlers_without_a_person(
    bot: Bot, dispatcher: Harness, kind: str
) -> None:
    seen: list[Context] = []

    @bot.on_event(kind)
    async def handler(ctx: Context) -> None:
        seen.append(ctx)
        with pytest.raises(ValueError, match=f"a {kind} event has no person to reply to"):
            await ctx.reply("hello?")

    await dispatcher.handle(page_event(**PAGE_LEVEL[kind]))
    [ctx] = seen
    assert (ctx.page_id, ctx.psid, ctx.grant) == (PAGE_ID, "", None)


async def test_without_a_handler_such_events_are_still_ignored(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    bot.on_event("read")(answer_nothing)
    assert await dispatcher.handle(event(**PERSONAL["reaction"])) == []
    assert await dispatcher.handle(page_event(**PAGE_LEVEL["app_roles"])) == []


async def test_filters_and_routers_work_for_events_too(
    bot: Bot, dispatcher: Harness, store: Store
) -> None:
    reactions = Router("reactions")

    async def thumbs_up(ctx: Context) -> None:
        await ctx.reply("thanks for the 👍")

    async def other(ctx: Context) -> None:
        await ctx.reply("noted")

    def is_like(ctx: Context) -> bool:
        return bool(ctx.event and ctx.event.reaction and ctx.event.reaction.reaction == "like")

    reactions.on_event("reaction", is_like)(thumbs_up)
    reactions.on_event("reaction")(other)
    bot.include_router(reactions)
    await dispatcher.handle(event(**PERSONAL["reaction"]))
    love = {"reaction": {"mid": "m2", "action": "react", "reaction": "love"}}
    await dispatcher.handle(event(**love))
    assert await sent(store) == [{"text": "thanks for the 👍"}, {"text": "noted"}]


async def test_standby_events_stay_unanswered(bot: Bot, dispatcher: Harness) -> None:
    bot.on_event("read")(answer_nothing)
    assert await dispatcher.handle(event(**PERSONAL["read"]), standby=True) == []


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("reactions", "not a webhook event kind (did you mean 'reaction'?)"),
        ("message", "use @bot.on_message"),
        ("postback", "use @bot.on_postback"),
        ("account_linking", "use @bot.on_account_linking"),
        ("nonsense", "not a webhook event kind; the kinds are referral, delivery"),
    ],
)
def test_unknown_kinds_are_refused_with_the_right_decorator(kind: str, message: str) -> None:
    with pytest.raises(RegistrationError, match=re.escape(message)):
        Bot().on_event(kind)


def test_on_event_needs_parentheses() -> None:
    with pytest.raises(RegistrationError, match=r'with parentheses: @bot.on_event\("reaction"\)'):

        @Bot().on_event  # type: ignore[arg-type]
        async def handler(ctx: Context) -> None:
            pass

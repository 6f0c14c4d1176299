"""@requires: the login prompt, the pending intent, its replay (exactly once), the re-asks for a
declined scope and their limit, and a token Facebook stopped accepting."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from botperms import Bot, Context, requires
from botperms.bot.dispatcher import Dispatcher
from botperms.bot.requires import requirement_of
from botperms.bot.runtime import Runtime
from botperms.graph import InvalidTokenError
from botperms.messenger import MessagingEvent
from botperms.store import NewInboxItem, PendingIntentRecord, Store, StoreError, replay_event
from botperms.store.models import InboxEvent
from tests.unit.bot.conftest import (
    PAGE_ID,
    Harness,
    LinkMaker,
    buttons,
    grant,
    postback,
    run_inbox,
    sent,
    template_text,
    text,
)


class Likes:
    """A bot whose "likes" handler needs user_likes; it notes every run it gets."""

    def __init__(self, bot: Bot) -> None:
        self.runs: list[Context] = []
        self.logins: list[tuple[Context, tuple[str, ...]]] = []

        @bot.on_message(text="likes")
        @requires("user_likes", prompt="I need to see your likes first.")
        async def likes(ctx: Context) -> None:
            self.runs.append(ctx)
            await ctx.reply("Pages you like: …")

        @bot.on_login
        async def logged_in(ctx: Context, declined: tuple[str, ...]) -> None:
            self.logins.append((ctx, declined))


@pytest.fixture
def likes(bot: Bot) -> Likes:
    return Likes(bot)


async def log_in(
    store: Store,
    dispatcher: Dispatcher,
    *,
    granted: tuple[str, ...] = ("user_likes",),
    declined: tuple[str, ...] = (),
) -> None:
    """The flows layer finished a login for alice; the bot handles what that queued."""
    record = await grant(store, granted=granted, declined=declined)
    await dispatcher.login_succeeded(record, ("user_likes",))
    await run_inbox(store, dispatcher)


# -- the prompt and the intent ---------------------------------------------------------------


async def test_without_the_scope_the_event_waits_and_the_prompt_goes_out(
    likes: Likes, dispatcher: Dispatcher, store: Store, links: LinkMaker
) -> None:
    before = datetime.now(UTC)
    await dispatcher.handle(text("likes"))
    assert likes.runs == []
    intent = await store.pending_intent(PAGE_ID, "alice", now=datetime.now(UTC))
    assert intent is not None
    assert intent.scopes == ("user_likes",)
    assert intent.event["message"] == {"mid": "m1", "text": "likes"}
    assert intent.asks == 1
    # About an hour: long enough to log in, short enough not to surprise anyone later.
    assert timedelta(minutes=59) < intent.expires_at - before <= timedelta(hours=1, seconds=5)
    [prompt] = await sent(store)
    assert template_text(prompt) == "I need to see your likes first."
    [button] = buttons(prompt)
    assert (button["type"], button["url"]) == ("web_url", "https://bot.test/auth/start?ticket=t1")
    assert [(c["scopes"], c["auth_type"]) for c in links.calls] == [(("user_likes",), None)]


async def test_with_the_scope_the_handler_just_runs(
    likes: Likes, dispatcher: Dispatcher, store: Store
) -> None:
    await grant(store)
    await dispatcher.handle(text("likes"))
    [ctx] = likes.runs
    assert ctx.replayed is False
    assert await store.pending_intent(PAGE_ID, "alice", now=datetime.now(UTC)) is None
    assert await sent(store) == [{"text": "Pages you like: …"}]


async def test_a_scope_declined_before_is_asked_for_with_rerequest(
    likes: Likes, dispatcher: Dispatcher, store: Store, links: LinkMaker
) -> None:
    await grant(store, granted=("public_profile",), declined=("user_likes",))
    await dispatcher.handle(text("likes"))
    assert likes.runs == []
    assert [(c["scopes"], c["auth_type"]) for c in links.calls] == [(("user_likes",), "rerequest")]


async def test_the_default_prompt_text_comes_from_the_bots_prompts(
    dispatcher: Dispatcher, bot: Bot, store: Store
) -> None:
    @bot.on_postback("MY_EMAIL")
    @requires("email")
    async def email(ctx: Context) -> None:
        raise AssertionError("must not run without the scope")

    await dispatcher.handle(postback("MY_EMAIL"))
    [prompt] = await sent(store)
    assert template_text(prompt) == bot.prompts.login


# -- replay, exactly once --------------------------------------------------------------------


async def test_after_the_login_the_event_is_replayed_to_the_same_handler_once(
    likes: Likes, dispatcher: Dispatcher, store: Store
) -> None:
    await dispatcher.handle(text("likes"))
    await log_in(store, dispatcher)

    [ctx] = likes.runs
    assert ctx.replayed is True
    assert ctx.text == "likes"
    assert ctx.event is not None
    assert ctx.event.message is not None
    assert ctx.event.message.mid == "m1"
    assert ctx.has_scopes("user_likes")
    assert "botperms" not in (ctx.event.model_extra or {})  # the handler sees Facebook's event
    # on_login ran first and could see that a request was about to be replayed.
    [(login_ctx, declined)] = likes.logins
    assert login_ctx.pending_intent is not None
    assert declined == ()
    assert await store.pending_intent(PAGE_ID, "alice", now=datetime.now(UTC)) is None
    assert (await sent(store))[-1] == {"text": "Pages you like: …"}


async def test_a_duplicate_delivery_or_outcome_does_not_run_the_handler_twice(
    likes: Likes, dispatcher: Dispatcher, store: Store
) -> None:
    # The same message delivered twice before the login: one intent.
    await dispatcher.handle(text("likes"))
    await dispatcher.handle(text("likes"))
    record = await grant(store)
    await dispatcher.login_succeeded(record, ("user_likes",))
    await dispatcher.login_succeeded(record, ("user_likes",))  # told twice: queued once
    handled = await run_inbox(store, dispatcher)
    assert [key.split(":")[0] for key in handled] == ["login", "replay"]

    # The login outcome redelivered after it was handled (a crash before "done"): the intent
    # is gone, nothing is queued again.
    [login_row] = await inbox_rows(store, "login")
    await dispatcher.handle(as_event(login_row))
    assert await run_inbox(store, dispatcher) == []
    # And the replay itself redelivered is refused by the inbox (same key).
    [replay_row] = await inbox_rows(store, "replay")
    assert await store.inbox_add([as_new_item(replay_row)]) == 0
    assert len(likes.runs) == 1


async def test_if_queuing_the_replay_fails_the_intent_stays(
    likes: Likes, dispatcher: Dispatcher, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await dispatcher.handle(text("likes"))
    record = await grant(store)
    await dispatcher.login_succeeded(record, ("user_likes",))
    real_add = store.inbox_add

    async def failing_add(items: list[object], **kw: object) -> int:
        if any(getattr(item, "kind", "") == "replay" for item in items):
            raise StoreError("disk full")
        return await real_add(items, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "inbox_add", failing_add)
    with pytest.raises(StoreError):
        await run_inbox(store, dispatcher)
    # Taken and re-queued in one transaction: the failed queueing put the intent back.
    assert await store.pending_intent(PAGE_ID, "alice", now=datetime.now(UTC)) is not None
    assert likes.runs == []


async def test_an_intent_older_than_its_ttl_is_not_replayed(
    bot: Bot, runtime: Runtime, store: Store
) -> None:
    likes = Likes(bot)
    now = [datetime.now(UTC)]
    dispatcher = Harness(Dispatcher(bot, runtime, clock=lambda: now[0]), store)
    await dispatcher.handle(text("likes"))
    now[0] += bot.intent_ttl + timedelta(seconds=1)
    await log_in(store, dispatcher)
    assert likes.runs == []
    assert likes.logins[0][0].pending_intent is None


async def test_a_newer_request_replaces_the_waiting_one(
    bot: Bot, dispatcher: Dispatcher, store: Store
) -> None:
    runs: list[str | None] = []

    @bot.on_message(pattern="^likes")
    @requires("user_likes")
    async def likes(ctx: Context) -> None:
        runs.append(ctx.text)

    await dispatcher.handle(text("likes"))
    await dispatcher.handle(text("likes again", mid="m2"))
    await log_in(store, dispatcher)
    assert runs == ["likes again"]


# -- declined: explain, re-ask, stop ---------------------------------------------------------


async def test_a_declined_scope_is_explained_and_re_asked_then_given_up(
    likes: Likes, dispatcher: Dispatcher, store: Store, links: LinkMaker, bot: Bot
) -> None:
    assert bot.max_reasks == 2
    await dispatcher.handle(text("likes"))
    for _ in range(2):
        await log_in(store, dispatcher, granted=("public_profile",), declined=("user_likes",))
    messages = await sent(store)
    reask = (
        "You didn't share your likes, so I can't do that yet. "
        "Tap below if you'd like to share after all."
    )
    assert [template_text(m) for m in messages] == ["I need to see your likes first.", reask, reask]
    assert buttons(messages[1])[0]["title"] == "Share and continue"
    assert [(c["scopes"], c["auth_type"]) for c in links.calls] == [
        (("user_likes",), None),
        (("user_likes",), "rerequest"),
        (("user_likes",), "rerequest"),
    ]
    intent = await store.pending_intent(PAGE_ID, "alice", now=datetime.now(UTC))
    assert intent is not None
    assert intent.asks == 3

    # Declined a third time: no more asking; the person is told how to come back.
    await log_in(store, dispatcher, granted=("public_profile",), declined=("user_likes",))
    assert (await sent(store))[-1] == {"text": bot.prompts.gave_up}
    assert 'say "log in"' in bot.prompts.gave_up
    assert await store.pending_intent(PAGE_ID, "alice", now=datetime.now(UTC)) is None
    # A later login (for whatever reason) has nothing left to ask about.
    count = len(await sent(store))
    await log_in(store, dispatcher, granted=("public_profile",), declined=("user_likes",))
    assert len(await sent(store)) == count
    assert likes.runs == []
    # on_login handlers saw every login, with what was declined.
    assert [declined for _, declined in likes.logins] == [("user_likes",)] * 4


async def test_granting_on_a_re_ask_replays_the_request(
    likes: Likes, dispatcher: Dispatcher, store: Store
) -> None:
    await dispatcher.handle(text("likes"))
    await log_in(store, dispatcher, granted=("public_profile",), declined=("user_likes",))
    await log_in(store, dispatcher, granted=("public_profile", "user_likes"))
    [ctx] = likes.runs
    assert ctx.replayed


async def test_max_reasks_zero_gives_up_at_the_first_decline(
    runtime: Runtime, store: Store, links: LinkMaker
) -> None:
    bot = Bot(max_reasks=0)
    Likes(bot)
    dispatcher = Harness(Dispatcher(bot, runtime), store)
    await dispatcher.handle(text("likes"))
    await log_in(store, dispatcher, granted=("public_profile",), declined=("user_likes",))
    assert (await sent(store))[-1] == {"text": bot.prompts.gave_up}
    assert len(links.calls) == 1


def test_bot_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="max_reasks"):
        Bot(max_reasks=-1)
    with pytest.raises(ValueError, match="intent_ttl"):
        Bot(intent_ttl=timedelta(0))


# -- failed logins -----------------------------------------------------------------------------


async def test_saying_no_to_the_dialog_drops_the_request(
    likes: Likes, dispatcher: Dispatcher, store: Store
) -> None:
    await dispatcher.handle(text("likes"))
    await dispatcher.login_failed(PAGE_ID, "alice", "ticket_expired")
    await run_inbox(store, dispatcher)
    assert await store.pending_intent(PAGE_ID, "alice", now=datetime.now(UTC)) is not None
    await dispatcher.login_failed(PAGE_ID, "alice", "access_denied")
    await run_inbox(store, dispatcher)
    assert await store.pending_intent(PAGE_ID, "alice", now=datetime.now(UTC)) is None
    await log_in(store, dispatcher)
    assert likes.runs == []


# -- a token Facebook no longer accepts ------------------------------------------------------


async def test_a_rejected_token_expires_the_grant_and_the_request_waits_for_a_new_login(
    bot: Bot, dispatcher: Dispatcher, store: Store
) -> None:
    runs: list[bool] = []

    @bot.on_message(text="likes")
    @requires("user_likes")
    async def likes(ctx: Context) -> None:
        runs.append(ctx.replayed)
        if not ctx.replayed:
            raise InvalidTokenError("Error validating access token", code=190)

    await grant(store)
    await dispatcher.handle(text("likes"))
    assert await store.active_grant(PAGE_ID, "alice") is None
    [prompt] = await sent(store)
    assert template_text(prompt) == bot.prompts.expired
    await log_in(store, dispatcher)
    assert runs == [False, True]


async def test_a_rejected_token_in_a_handler_without_requires_reaches_the_inbox(
    bot: Bot, dispatcher: Dispatcher, store: Store
) -> None:
    @bot.on_message(text="likes")
    async def likes(ctx: Context) -> None:
        raise InvalidTokenError("Error validating access token", code=190)

    await grant(store)
    with pytest.raises(InvalidTokenError):
        await dispatcher.handle(text("likes"))
    assert await store.active_grant(PAGE_ID, "alice") is not None


# -- the decorator -------------------------------------------------------------------------------


async def test_requires_works_above_or_below_the_route_decorator(
    bot: Bot, dispatcher: Dispatcher, store: Store
) -> None:
    runs: list[str] = []

    @requires("user_likes")
    @bot.on_postback("BELOW")
    async def below(ctx: Context) -> None:
        runs.append("below")

    await dispatcher.handle(postback("BELOW"))
    assert runs == []
    assert await store.pending_intent(PAGE_ID, "alice", now=datetime.now(UTC)) is not None


def test_stacked_requires_add_scopes_and_the_outer_prompt_wins() -> None:
    @requires("email", prompt="outer")
    @requires("user_likes", "email", prompt="inner")
    async def handler(ctx: Context) -> None: ...

    requirement = requirement_of(handler)
    assert requirement is not None
    assert requirement.scopes == ("user_likes", "email")
    assert requirement.prompt == "outer"
    assert requirement_of(lambda ctx: None) is None


@pytest.mark.parametrize("scopes", [(), ("User Likes",), ("",), ("user-likes",)])
def test_requires_checks_the_scope_names(scopes: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=r"needs the permissions|is not a Facebook permission"):
        requires(*scopes)


def test_requires_is_documented() -> None:
    doc = " ".join((requires.__doc__ or "").split())
    for phrase in (
        "pending intent",
        "exactly once",
        "rerequest",
        "max_reasks",
        "InvalidTokenError",
    ):
        assert phrase in doc


# -- helpers -----------------------------------------------------------------------------------


async def inbox_rows(store: Store, kind: str) -> list[InboxEvent]:
    async with store.db.session() as session:
        return list(await session.scalars(select(InboxEvent).where(InboxEvent.kind == kind)))


def as_event(row: InboxEvent) -> MessagingEvent:
    return MessagingEvent.model_validate(row.payload)


def as_new_item(row: InboxEvent) -> NewInboxItem:
    return NewInboxItem(
        event_key=row.event_key,
        page_id=row.page_id,
        psid=row.psid,
        kind=row.kind,
        payload=row.payload,
        event_time=row.event_time,
    )


async def test_the_replay_key_is_the_same_for_the_same_intent_only(store: Store) -> None:
    async def saved(mid: str) -> PendingIntentRecord:
        return await store.save_pending_intent(
            page_id=PAGE_ID,
            psid="alice",
            scopes=["user_likes"],
            event=text("likes", mid=mid).as_dict(),
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )

    first = await saved("m1")
    assert replay_event(first).event_key == replay_event(first).event_key
    assert replay_event(first).event_key != replay_event(await saved("m2")).event_key
    # The same message asked for again later (after a replay that lost its grant) is a new
    # intent, and its replay must not be mistaken for the earlier one's.
    later = replace(first, created_at=first.created_at + timedelta(milliseconds=5))
    assert replay_event(later).event_key != replay_event(first).event_key
    assert len(replay_event(first).event_key) <= 255  # fits the inbox's key column

"""``ChatTester``: conversations with a bot through the real pipeline, no servers."""

from __future__ import annotations

import pytest

from botperms import Bot, Context, requires
from botperms.messenger import generic_element, postback_button
from botperms.testing import BotFailed, ChatTester, LoginPageError


def make_bot() -> Bot:
    bot = Bot()

    @bot.on_message(text="hi")
    async def hi(ctx: Context) -> None:
        await ctx.reply("Hello! What now?", quick_replies=[("My likes", "LIKES"), ("Bye", "BYE")])

    @bot.on_message(quick_reply="BYE")
    async def bye(ctx: Context) -> None:
        await ctx.reply("Goodbye.")

    @bot.on_message(text="menu")
    async def menu(ctx: Context) -> None:
        await ctx.reply("Pick one", buttons=[postback_button("Help", "HELP")])

    @bot.on_message(text="cards")
    async def cards(ctx: Context) -> None:
        await ctx.typing()
        await ctx.reply(
            elements=[generic_element("Cats", subtitle="Meow"), generic_element("Dogs")]
        )

    @bot.on_postback("HELP")
    async def help_(ctx: Context) -> None:
        await ctx.reply("Here is some help.")

    @bot.on_message(text="likes")
    @bot.on_message(quick_reply="LIKES")
    @requires("user_likes")
    async def likes(ctx: Context) -> None:
        pages = await ctx.user_graph.get("/me/likes", params={"fields": "name"})
        await ctx.reply("You like " + ", ".join(p["name"] for p in pages["data"]))

    @bot.on_message(text="boom")
    async def boom(ctx: Context) -> None:
        raise RuntimeError("the handler broke")

    @bot.on_login
    async def logged_in(ctx: Context, declined: tuple[str, ...]) -> None:
        if declined:
            await ctx.reply("You declined " + ", ".join(declined))

    @bot.on_login_failed
    async def failed(ctx: Context, reason: object) -> None:
        await ctx.reply(f"Login failed: {getattr(reason, 'value', reason)}")

    @bot.on_account_linking
    async def linking(ctx: Context) -> None:
        assert ctx.event is not None
        assert ctx.event.account_linking is not None
        await ctx.reply(f"Account {ctx.event.account_linking.status}")

    @bot.on_error
    async def sorry(ctx: Context, error: BaseException) -> None:
        await ctx.reply(f"Sorry, that broke ({error})")

    @bot.fallback
    async def fallback(ctx: Context) -> None:
        await ctx.reply(f"I did not get {ctx.text!r}")

    return bot


async def test_a_message_gets_typed_replies_with_quick_replies() -> None:
    async with ChatTester(make_bot()) as chat:
        replies = await chat.say("hi", psid="1")
        assert replies.text == "Hello! What now?"
        assert [q.payload for q in replies[0].quick_replies] == ["LIKES", "BYE"]
        tapped = await chat.quick_reply(replies[0].quick_reply("Bye"), psid="1")
        assert tapped.texts == ["Goodbye."]
        assert (await chat.say("what?", psid="1")).text == "I did not get 'what?'"


async def test_buttons_postbacks_and_templates_are_typed() -> None:
    async with ChatTester(make_bot()) as chat:
        menu = await chat.say("menu", psid="7")
        assert menu[0].template == "button"
        help_button = menu[0].button("Help")
        assert (help_button.type, help_button.payload) == ("postback", "HELP")
        assert (await chat.tap(help_button, psid="7")).text == "Here is some help."
        assert (await chat.postback("HELP", psid="7")).text == "Here is some help."
        cards = await chat.say("cards", psid="7")
        assert cards.actions == ["typing_on"]
        assert cards[0].template == "generic"
        assert [(e.title, e.subtitle) for e in cards[0].elements] == [
            ("Cats", "Meow"),
            ("Dogs", None),
        ]


async def test_requires_asks_to_log_in_then_grant_replays_the_request() -> None:
    async with ChatTester(make_bot()) as chat:
        prompt = await chat.say("likes", psid="1")
        login = prompt[0].button("Log in with Facebook")
        assert login.type == "web_url"
        assert "/auth/start?ticket=" in (login.url or "")
        after = await chat.grant("1", ["user_likes"], likes=["Cats", "Dogs"])
        assert after.texts == ["You like Cats, Dogs"]  # the waiting request, replayed
        assert (await chat.say("likes", psid="1")).text == "You like Cats, Dogs"
        # Another person is still asked: grants are per person.
        assert (await chat.say("likes", psid="2"))[0].buttons[0].title == "Log in with Facebook"


async def test_grant_before_the_first_message_and_without_await() -> None:
    async with ChatTester(make_bot()) as chat:
        chat.grant("3", ["user_likes"], likes=[{"name": "Rust"}])  # the next call waits for it
        assert (await chat.say("likes", psid="3")).text == "You like Rust"


async def test_declining_is_told_and_asked_again_with_rerequest() -> None:
    async with ChatTester(make_bot()) as chat:
        await chat.say("likes", psid="4")
        after = await chat.decline("4", ["user_likes"])
        assert after.texts[0] == "You declined user_likes"
        reask = after[1].buttons[0]
        assert "/auth/start?ticket=" in (reask.url or "")
        # The person changes their mind on the re-ask: the request runs.
        assert (await chat.grant("4", ["user_likes"], likes=["Go"])).texts == ["You like Go"]


async def test_cancelled_login_reaches_on_login_failed() -> None:
    async with ChatTester(make_bot()) as chat:
        await chat.say("likes", psid="5")
        assert (await chat.cancel_login("5")).texts == ["Login failed: access_denied"]
        # The request was dropped: logging in later does not replay it.
        assert (await chat.grant("5", ["user_likes"], likes=["Tea"])).texts == []


async def test_a_used_login_button_ends_on_the_error_page() -> None:
    async with ChatTester(make_bot()) as chat:
        prompt = await chat.say("likes", psid="6")
        await chat.grant("6", ["user_likes"], likes=["A"])
        with pytest.raises(LoginPageError, match="already used"):
            await chat.tap(prompt[0].buttons[0], psid="6")


async def test_account_linking_linked_and_unlinked() -> None:
    async with ChatTester(make_bot(), login_flow="account_link") as chat:
        prompt = await chat.say("likes", psid="8")
        assert [b.type for b in prompt[0].buttons] == ["account_link", "web_url"]
        linked = await chat.link("8", likes=["Jazz"])
        assert linked.texts == ["Account linked", "You like Jazz"]
        unlinked = await chat.unlink("8")
        assert "Account unlinked" in unlinked.texts
        assert len(unlinked) == 2  # the framework's goodbye, and the handler's message
        assert (await chat.say("likes", psid="8"))[0].buttons[0].type == "account_link"


async def test_a_failing_handler_fails_the_test_or_returns_on_error() -> None:
    async with ChatTester(make_bot()) as chat:
        with pytest.raises(BotFailed, match="the handler broke"):
            await chat.say("boom", psid="1")
    async with ChatTester(make_bot(), raise_errors=False) as chat:
        assert (await chat.say("boom", psid="1")).text == "Sorry, that broke (the handler broke)"


async def test_each_tester_starts_empty_and_sees_only_its_own_sends() -> None:
    async with ChatTester(make_bot()) as chat:
        await chat.say("hi", psid="1")
        await chat.say("menu", psid="2")
        assert chat.sent("1").texts == ["Hello! What now?"]
        assert len(chat.sent()) == 2
    async with ChatTester(make_bot()) as chat:
        assert len(chat.sent()) == 0
        assert (await chat.say("likes", psid="1"))[0].buttons  # not logged in here


async def test_seeded_likes_are_paged_like_facebook_pages_them() -> None:
    bot = Bot()

    @bot.on_message(text="first ten")
    @requires("user_likes")
    async def first_ten(ctx: Context) -> None:
        pages = await ctx.user_graph.likes(limit=10, page_size=4)
        await ctx.reply(",".join(page.name for page in pages))

    @bot.on_message(text="all")
    @requires("user_likes")
    async def every_like(ctx: Context) -> None:
        names = [row["name"] async for row in ctx.user_graph.paginate("/me/likes", limit=100)]
        await ctx.reply(str(len(names)))

    names = [f"Page {n}" for n in range(1, 31)]
    async with ChatTester(bot) as chat:
        chat.grant("1", ["user_likes"], likes=names)
        assert (await chat.say("first ten", psid="1")).text == ",".join(names[:10])
        likes_calls = [c for c in chat.graph.calls if c.path == "/me/likes"]
        assert len(likes_calls) == 3  # 4 + 4 + 2, following the cursors
        assert [c.query.get("after") for c in likes_calls] == [None, "4", "8"]
        assert (await chat.say("all", psid="1")).text == "30"
        # Every call with the person's token carried appsecret_proof.
        assert all("appsecret_proof" in c.query for c in chat.graph.calls if c.path == "/me/likes")

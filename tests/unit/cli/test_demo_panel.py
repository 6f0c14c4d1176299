"""The demo panel speaks for the bot it runs: its texts, its menu, the scopes it requires."""

from __future__ import annotations

from pathlib import Path

from botperms import Bot, Context, requires
from botperms.cli.demo_panel import EXAMPLE_HINTS, how_to_try, read_profile
from botperms.config import LoginFlow
from botperms.examples.likes_bot import bot as example_bot
from botperms.messenger.profile import parse_messenger_profile

PROFILE = parse_messenger_profile(
    {
        "get_started": {"payload": "START"},
        "persistent_menu": [
            {
                "locale": "default",
                "call_to_actions": [
                    {"type": "postback", "title": "My email", "payload": "EMAIL"},
                    {"type": "postback", "title": "Help", "payload": "HELP"},
                ],
            }
        ],
    }
)


def plain(text: str) -> str:
    """The hint as printed: without rich's [bold] markup."""
    for tag in ("[bold]", "[/]", "[yellow]"):
        text = text.replace(tag, "")
    return text


def email_bot() -> Bot:
    bot = Bot()

    @bot.on_postback("START")
    @bot.on_message(text="help")
    async def start(ctx: Context) -> None:
        pass

    @bot.on_message(text="email")
    @bot.on_postback("EMAIL")
    @requires("email")
    async def email(ctx: Context) -> None:
        pass

    return bot


def test_an_authors_bot_is_described_from_its_handlers_and_profile() -> None:
    assert plain(how_to_try(email_bot(), PROFILE, LoginFlow.WEB)) == (
        "Tap Get Started, say help or email, open the menu (☰): My email, Help. "
        "email and My email need a Facebook login: tap Log in with Facebook and allow email."
    )


def test_account_linking_names_its_own_button() -> None:
    hint = plain(how_to_try(email_bot(), PROFILE, LoginFlow.ACCOUNT_LINK))
    assert hint.startswith("Tap Get Started in the phone view, say help or email")
    assert hint.endswith(
        "tap Log in (Messenger's account-linking button) and allow email. "
        "On a computer, use Log in on a computer."
    )


def test_a_bot_without_requires_or_profile_says_so() -> None:
    bot = Bot()

    @bot.on_message
    async def echo(ctx: Context) -> None:
        pass

    assert plain(how_to_try(bot, None, LoginFlow.WEB)) == (
        "Say something. No handler uses @requires, so nothing here asks for a Facebook login."
    )


def test_a_get_started_nobody_answers_is_pointed_out() -> None:
    bot = Bot()

    @bot.on_message(text="hi")
    async def hi(ctx: Context) -> None:
        pass

    hint = plain(how_to_try(bot, PROFILE, LoginFlow.WEB))
    assert 'No handler answers Get Started: add @bot.on_postback("START").' in hint


def test_the_example_bot_keeps_its_words() -> None:
    for flow in LoginFlow:
        assert how_to_try(example_bot, None, flow, example=True) == EXAMPLE_HINTS[flow]
    assert plain(EXAMPLE_HINTS[LoginFlow.WEB]) == (
        "Tap Get Started, say likes, tap Log in with Facebook, allow user_likes, and the bot "
        "lists the pages you like."
    )


def test_an_unreadable_profile_gives_hints_without_it(tmp_path: Path) -> None:
    broken = tmp_path / "messenger_profile.toml"
    broken.write_text("[get_started\n")
    assert read_profile(broken) is None
    assert read_profile(None) is None

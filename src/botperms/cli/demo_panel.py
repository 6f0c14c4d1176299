"""What the demo's panel tells a person to try, read from the bot it runs and its profile file.

The example bot keeps its own words; any other bot is described from what it registered (its
texts, the scopes its handlers ``@requires``) and its ``messenger_profile.toml`` (Get Started,
the persistent menu), so the hints never promise a "likes" the bot does not have.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from botperms.bot import Bot
from botperms.bot.requires import requirement_of
from botperms.config import LoginFlow
from botperms.messenger.profile import (
    DEFAULT_LOCALE,
    MessengerProfileError,
    MessengerProfileFile,
    load_messenger_profile,
)

EXAMPLE_HINTS = {
    LoginFlow.WEB: (
        "Tap [bold]Get Started[/], say [bold]likes[/], tap [bold]Log in with Facebook[/], "
        "allow [bold]user_likes[/], and the bot lists the pages you like."
    ),
    LoginFlow.ACCOUNT_LINK: (
        "Tap [bold]Get Started[/] in the [bold]phone[/] view, say [bold]likes[/], tap "
        "[bold]Log in[/] (Messenger's account-linking button), allow [bold]user_likes[/], "
        "and the bot lists the pages you like. Account linking works in Messenger's "
        "phone apps only; on a computer, use [bold]Log in on a computer[/]. Log out from "
        "the menu (☰); remove the app or delete your data on fakebook's settings page."
    ),
}
MOST_SHOWN = 5


def _bold(text: str) -> str:
    return f"[bold]{escape(text)}[/]"


def _either(items: list[str], word: str = "or") -> str:
    shown = [_bold(item) for item in items[:MOST_SHOWN]]
    if len(items) > MOST_SHOWN:
        shown.append("…")
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" {word} " + shown[-1]


def read_profile(path: Path | None) -> MessengerProfileFile | None:
    """The profile file if it is readable (its problems are reported where it is applied)."""
    if path is None:
        return None
    try:
        return load_messenger_profile(path)
    except MessengerProfileError:
        return None


def _menu(profile: MessengerProfileFile | None) -> list[tuple[str, str | None]]:
    """(title, payload) of the persistent menu's items, in the default locale if there is one."""
    menus = (profile.persistent_menu if profile else None) or ()
    chosen = next((m for m in menus if m.locale == DEFAULT_LOCALE), menus[0] if menus else None)
    return [(item.title, item.payload) for item in chosen.call_to_actions] if chosen else []


def how_to_try(
    bot: Bot, profile: MessengerProfileFile | None, flow: LoginFlow, *, example: bool = False
) -> str:
    """The panel's paragraph saying what to do in the simulator."""
    if example:
        return EXAMPLE_HINTS[flow]
    routes = bot.registered()
    menu = _menu(profile)
    steps: list[str] = []
    get_started = profile.get_started.payload if profile and profile.get_started else None
    if get_started is not None:
        where = " in the [bold]phone[/] view" if flow is LoginFlow.ACCOUNT_LINK else ""
        steps.append(f"Tap {_bold('Get Started')}{where}")
    texts = [key for kind, key, _ in routes if kind == "text"]
    if texts:
        steps.append(f"say {_either(texts)}")
    elif any(kind in ("any", "fallback", "pattern") for kind, _, _ in routes):
        steps.append("say something")
    if menu:
        steps.append("open the menu (☰): " + ", ".join(_bold(title) for title, _ in menu))
    sentence = (", ".join(steps) if steps else "Say something") + "."
    sentence = sentence[0].upper() + sentence[1:]
    missing = _unanswered(bot, get_started)
    if missing:
        sentence += f" {missing}"
    return f"{sentence} {_login_hint(bot, menu, flow)}"


def _unanswered(bot: Bot, payload: str | None) -> str:
    routes = bot.registered()
    if payload is None or any(kind in ("postback", "fallback") and key in (payload, "")
                              for kind, key, _ in routes):  # fmt: skip
        return ""
    return f'[yellow]No handler answers Get Started: add @bot.on_postback("{escape(payload)}").[/]'


def _login_hint(bot: Bot, menu: list[tuple[str, str | None]], flow: LoginFlow) -> str:
    titles = {payload: title for title, payload in menu if payload}
    scopes: list[str] = []
    gated: list[str] = []
    for kind, key, handler in bot.registered():
        requirement = requirement_of(handler)
        if requirement is None:
            continue
        scopes.extend(scope for scope in requirement.scopes if scope not in scopes)
        name = titles.get(key, key) if kind == "postback" else key or kind
        if kind in ("text", "postback") and name not in gated:
            gated.append(name)
    if not scopes:
        return "No handler uses @requires, so nothing here asks for a Facebook login."
    verb = "needs" if len(gated) == 1 else "need"
    needs = f"{_either(gated, 'and')} {verb}" if gated else "Some handlers need"
    allow = " and ".join(_bold(scope) for scope in scopes)
    if flow is LoginFlow.ACCOUNT_LINK:
        return (
            f"{needs} a Facebook login: tap {_bold('Log in')} (Messenger's account-linking "
            f"button) and allow {allow}. On a computer, use {_bold('Log in on a computer')}."
        )
    return f"{needs} a Facebook login: tap {_bold('Log in with Facebook')} and allow {allow}."

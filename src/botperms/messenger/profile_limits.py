"""The limits of contract §4 on a Messenger Profile file, each problem named by its field path
(``persistent_menu[0].call_to_actions[3].title: 34 characters, the limit is 30``)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit

from botperms.messenger.profile_parts import (
    DEFAULT_LOCALE,
    Greeting,
    IceBreakers,
    Menu,
    MenuItem,
    MessengerProfileFile,
    MessengerProfileProblem,
)

GREETING_MAX = 160
PAYLOAD_MAX = 1000
MENU_ITEMS_MAX = 20
MENU_TITLE_MAX = 30
DOMAINS_MAX = 50
ICE_BREAKERS_MAX = 4
MENU_ITEM_TYPES = ("postback", "web_url")
HEIGHT_RATIOS = ("compact", "tall", "full")
_LOCALE = re.compile(r"^[a-z]{2,3}_[A-Z]{2}$")


class _Checker:
    def __init__(self) -> None:
        self.problems: list[MessengerProfileProblem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(MessengerProfileProblem(path, message))

    def text(self, value: str | None, path: str, limit: int | None = None) -> None:
        if not value:
            self.fail(path, "must not be empty")
        elif limit is not None and len(value) > limit:
            self.fail(path, f"{len(value)} characters, the limit is {limit}")

    def count(self, items: Sequence[object], path: str, limit: int) -> None:
        if len(items) > limit:
            self.fail(path, f"{len(items)} items, the limit is {limit}")

    def locales(self, entries: Sequence[Greeting | Menu | IceBreakers], name: str) -> None:
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            if entry.locale != DEFAULT_LOCALE and not _LOCALE.match(entry.locale):
                self.fail(
                    f"{name}[{index}].locale",
                    f"{entry.locale!r} is not a locale (use default, or a form like en_US)",
                )
            if entry.locale in seen:
                self.fail(f"{name}[{index}].locale", f"{entry.locale!r} appears twice")
            seen.add(entry.locale)
        if DEFAULT_LOCALE not in seen:
            self.fail(name, 'needs an entry with locale = "default"')

    def menu_item(self, item: MenuItem, path: str) -> None:
        if item.type == "nested":
            self.fail(
                f"{path}.type",
                "nested menus were removed by Facebook in v8.0; use up to "
                f"{MENU_ITEMS_MAX} items on one level",
            )
            return
        if item.type not in MENU_ITEM_TYPES:
            self.fail(f"{path}.type", f"{item.type!r} is not postback or web_url")
            return
        self.text(item.title, f"{path}.title", MENU_TITLE_MAX)
        if item.type == "postback":
            self.text(item.payload, f"{path}.payload", PAYLOAD_MAX)
            for key in ("url", "webview_height_ratio", "messenger_extensions", "fallback_url"):
                if getattr(item, key) is not None:
                    self.fail(f"{path}.{key}", "only web_url items take it")
            return
        if item.payload is not None:
            self.fail(f"{path}.payload", "only postback items take it")
        self.url(item.url, f"{path}.url", https_only=False)
        if item.webview_height_ratio not in (None, *HEIGHT_RATIOS):
            self.fail(f"{path}.webview_height_ratio", f"must be one of {', '.join(HEIGHT_RATIOS)}")
        if item.fallback_url is not None:
            if not item.messenger_extensions:
                self.fail(f"{path}.fallback_url", "needs messenger_extensions = true")
            self.url(item.fallback_url, f"{path}.fallback_url", https_only=False)
        if item.webview_share_button not in (None, "hide"):
            self.fail(f"{path}.webview_share_button", 'can only be "hide"')

    def url(self, value: str | None, path: str, *, https_only: bool) -> None:
        parts = _split(value or "")
        schemes = ("https",) if https_only else ("https", "http")
        if parts is None or parts.scheme not in schemes or not parts.hostname:
            self.fail(path, f"{value!r} is not an {' or '.join(schemes)} URL")

    def domain(self, value: str, path: str) -> None:
        parts = _split(value)
        host = (parts.hostname or "") if parts is not None else ""
        if parts is None or parts.scheme != "https" or not host:
            self.fail(path, f"{value!r} must be an https origin like https://example.com")
        elif parts.path not in ("", "/") or parts.query or parts.fragment:
            self.fail(path, f"{value!r} must be a domain without a path")
        elif _is_ip_or_local(host) or "." not in host:
            self.fail(path, f"{value!r} must be a fully qualified domain (no IP or localhost)")


def _split(url: str) -> SplitResult | None:
    """``urlsplit``, or None for what it refuses ("https://[oops": a bad IPv6 host), so a
    broken URL is one more problem of the file, not a traceback."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (checked for "https://host:99999" and "https://host:x")
    except ValueError:
        return None
    return parts


def _is_ip_or_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_limits(spec: MessengerProfileFile) -> list[MessengerProfileProblem]:
    """Every limit of contract §4 that the file breaks (empty when it is fine)."""
    check = _Checker()
    if spec.get_started is not None:
        check.text(spec.get_started.payload, "get_started.payload", PAYLOAD_MAX)
    if spec.greeting is not None:
        for index, greeting in enumerate(spec.greeting):
            check.text(greeting.text, f"greeting[{index}].text", GREETING_MAX)
        check.locales(spec.greeting, "greeting")
    if spec.persistent_menu is not None:
        if spec.get_started is None:
            check.fail(
                "persistent_menu",
                "needs get_started in the file too (Facebook refuses a menu without a Get "
                "Started button)",
            )
        for index, menu in enumerate(spec.persistent_menu):
            path = f"persistent_menu[{index}]"
            check.count(menu.call_to_actions, f"{path}.call_to_actions", MENU_ITEMS_MAX)
            if menu.composer_input_disabled and not menu.call_to_actions:
                check.fail(
                    f"{path}.composer_input_disabled",
                    "true needs call_to_actions (people could neither type nor tap)",
                )
            for number, item in enumerate(menu.call_to_actions):
                check.menu_item(item, f"{path}.call_to_actions[{number}]")
        check.locales(spec.persistent_menu, "persistent_menu")
    if spec.ice_breakers is not None:
        for index, entry in enumerate(spec.ice_breakers):
            path = f"ice_breakers[{index}].call_to_actions"
            if not entry.call_to_actions:
                check.fail(path, "needs at least one question")
            check.count(entry.call_to_actions, path, ICE_BREAKERS_MAX)
            for number, breaker in enumerate(entry.call_to_actions):
                check.text(breaker.question, f"{path}[{number}].question")
                check.text(breaker.payload, f"{path}[{number}].payload", PAYLOAD_MAX)
        check.locales(spec.ice_breakers, "ice_breakers")
    if spec.whitelisted_domains is not None:
        if len(spec.whitelisted_domains) >= DOMAINS_MAX:
            # One of Facebook's places is kept for our own origin, which is always added.
            check.fail(
                "whitelisted_domains",
                f"{len(spec.whitelisted_domains)} items, the limit is {DOMAINS_MAX - 1} "
                f"({DOMAINS_MAX} minus the one kept for BOTPERMS_PUBLIC_URL)",
            )
        for index, domain in enumerate(spec.whitelisted_domains):
            check.domain(domain, f"whitelisted_domains[{index}]")
    return check.problems

"""Messenger Profile as code: the profile file, its validation, and the profile it asks for.

The file (TOML) uses Facebook's own shapes, so the platform docs apply as they are::

    [get_started]
    payload = "GET_STARTED"

    [[greeting]]
    locale = "default"
    text = "Hi {{user_first_name}}!"

    [[persistent_menu]]
    locale = "default"
    composer_input_disabled = false
    [[persistent_menu.call_to_actions]]
    type = "postback"
    title = "My likes"
    payload = "MY_LIKES"

plus ``[[ice_breakers]]`` (per-locale, with ``[[ice_breakers.call_to_actions]]`` of ``question``
and ``payload``) and ``whitelisted_domains = ["https://…"]``. Our public URL's origin is always
whitelisted, and ``account_linking_url`` is derived from the settings, never written in the file.

Every limit of contract §4 is checked before anything is sent, and each problem names the field
path and the limit (``persistent_menu[0].call_to_actions[3].title: 34 characters, the limit is
30``). Comparing with the page and ordering the calls is :mod:`botperms.messenger.profile_plan`.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

PROPERTIES = (
    "get_started",
    "greeting",
    "ice_breakers",
    "persistent_menu",
    "whitelisted_domains",
    "account_linking_url",
)
DEFAULT_LOCALE = "default"
GREETING_MAX = 160
PAYLOAD_MAX = 1000
MENU_ITEMS_MAX = 20
MENU_TITLE_MAX = 30
DOMAINS_MAX = 50
ICE_BREAKERS_MAX = 4
MENU_ITEM_TYPES = ("postback", "web_url")
HEIGHT_RATIOS = ("compact", "tall", "full")
_LOCALE = re.compile(r"^[a-z]{2,3}_[A-Z]{2}$")
_NOT_IN_FILE = {
    "account_linking_url": "is derived from BOTPERMS_PUBLIC_URL when BOTPERMS_LOGIN_FLOW is "
    "account_link; leave it out of the file",
    "home_url": "was deprecated by Facebook in v7.0",
    "target_audience": "was deprecated by Facebook",
}


@dataclass(frozen=True)
class ProfileProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ProfileError(ValueError):
    """The profile file cannot be used; ``problems`` lists every reason, one per field."""

    def __init__(self, problems: Sequence[ProfileProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class _Part(BaseModel):
    # Unknown keys are refused: a typo ("greetings") must not silently do nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)


class GetStarted(_Part):
    payload: str


class Greeting(_Part):
    locale: str
    text: str


class MenuItem(_Part):
    type: str
    title: str
    payload: str | None = None
    url: str | None = None
    webview_height_ratio: str | None = None
    messenger_extensions: bool | None = None
    fallback_url: str | None = None
    webview_share_button: str | None = None


class Menu(_Part):
    locale: str
    composer_input_disabled: bool = False
    call_to_actions: tuple[MenuItem, ...] = ()


class IceBreaker(_Part):
    question: str
    payload: str


class IceBreakers(_Part):
    locale: str
    call_to_actions: tuple[IceBreaker, ...]


class ProfileFile(_Part):
    """The profile file as written; a property left out is not managed (see ``--prune``)."""

    get_started: GetStarted | None = None
    greeting: tuple[Greeting, ...] | None = None
    persistent_menu: tuple[Menu, ...] | None = None
    ice_breakers: tuple[IceBreakers, ...] | None = None
    whitelisted_domains: tuple[str, ...] | None = None


# -- reading ----------------------------------------------------------------------------------
def _path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _from_validation(error: ValidationError) -> list[ProfileProblem]:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        path = _path(loc)
        if item["type"] == "missing":
            message = "is required"
        elif item["type"] == "extra_forbidden":
            message = _NOT_IN_FILE.get(path, "is not a field here (a typo?)")
        else:
            message = item["msg"][:1].lower() + item["msg"][1:]
        problems.append(ProfileProblem(path, message))
    return problems


def parse_profile(data: dict[str, Any]) -> ProfileFile:
    """The checked profile from the file's data; raises ProfileError with every problem."""
    try:
        spec = ProfileFile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(_from_validation(exc)) from None
    problems = check_limits(spec)
    if problems:
        raise ProfileError(problems)
    return spec


def load_profile(path: Path) -> ProfileFile:
    """Read and check a TOML profile file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError([ProfileProblem(str(path), "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError([ProfileProblem(str(path), f"cannot be read: {exc}")]) from None
    return loads_profile(text, str(path))


def loads_profile(text: str, name: str = "profile") -> ProfileFile:
    """Check a profile file's TOML text; problems with the text as a whole name ``name``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError([ProfileProblem(name, f"is not valid TOML: {exc}")]) from None
    except RecursionError:
        # tomllib recurses per nested array or inline table ("a = [[[[…").
        raise ProfileError([ProfileProblem(name, "nests too deeply")]) from None
    return parse_profile(data)


# -- limits -----------------------------------------------------------------------------------
class _Checker:
    def __init__(self) -> None:
        self.problems: list[ProfileProblem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(ProfileProblem(path, message))

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


def check_limits(spec: ProfileFile) -> list[ProfileProblem]:
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


# -- the profile the page should have ---------------------------------------------------------
def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def desired_profile(
    spec: ProfileFile, *, public_url: str, account_linking_url: str | None = None
) -> dict[str, Any]:
    """Facebook's JSON for every property the file manages, plus the derived ones: our public
    origin in ``whitelisted_domains`` and, for the account-linking flow, ``account_linking_url``.
    """
    profile: dict[str, Any] = spec.model_dump(mode="json", exclude_none=True)
    own = origin(public_url)
    domains = [domain.rstrip("/") for domain in spec.whitelisted_domains or ()]
    profile["whitelisted_domains"] = list(dict.fromkeys([own, *domains]))
    if account_linking_url is not None:
        profile["account_linking_url"] = account_linking_url
    return {name: profile[name] for name in PROPERTIES if name in profile}

"""Messenger Profile as code: the page's settings file, read and checked, and the profile it asks
for. (A person's name is their *user* profile: ``botperms.graph.users``.)

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
30``; :mod:`botperms.messenger.profile_limits`). Comparing with the page and ordering the
calls is :mod:`botperms.messenger.profile_plan`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from botperms.messenger.profile_limits import check_limits
from botperms.messenger.profile_parts import (
    DEFAULT_LOCALE,
    PROPERTIES,
    MessengerProfileError,
    MessengerProfileFile,
    MessengerProfileProblem,
)

__all__ = [
    "DEFAULT_LOCALE",
    "PROPERTIES",
    "MessengerProfileError",
    "MessengerProfileFile",
    "MessengerProfileProblem",
    "check_limits",
    "desired_messenger_profile",
    "load_messenger_profile",
    "loads_messenger_profile",
    "parse_messenger_profile",
]

_NOT_IN_FILE = {
    "account_linking_url": "is derived from BOTPERMS_PUBLIC_URL when BOTPERMS_LOGIN_FLOW is "
    "account_link; leave it out of the file",
    "home_url": "was deprecated by Facebook in v7.0",
    "target_audience": "was deprecated by Facebook",
}


# -- reading ----------------------------------------------------------------------------------
def _path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _from_validation(error: ValidationError) -> list[MessengerProfileProblem]:
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
        problems.append(MessengerProfileProblem(path, message))
    return problems


def parse_messenger_profile(data: dict[str, Any]) -> MessengerProfileFile:
    """The checked profile from the file's data; raises MessengerProfileError with every problem."""
    try:
        spec = MessengerProfileFile.model_validate(data)
    except ValidationError as exc:
        raise MessengerProfileError(_from_validation(exc)) from None
    problems = check_limits(spec)
    if problems:
        raise MessengerProfileError(problems)
    return spec


def load_messenger_profile(path: Path) -> MessengerProfileFile:
    """Read and check a TOML profile file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MessengerProfileError([MessengerProfileProblem(str(path), "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MessengerProfileError(
            [MessengerProfileProblem(str(path), f"cannot be read: {exc}")]
        ) from None
    return loads_messenger_profile(text, str(path))


def loads_messenger_profile(text: str, name: str = "profile") -> MessengerProfileFile:
    """Check a profile file's TOML text; problems with the text as a whole name ``name``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MessengerProfileError(
            [MessengerProfileProblem(name, f"is not valid TOML: {exc}")]
        ) from None
    except RecursionError:
        # tomllib recurses per nested array or inline table ("a = [[[[…").
        raise MessengerProfileError([MessengerProfileProblem(name, "nests too deeply")]) from None
    return parse_messenger_profile(data)


# -- the profile the page should have ---------------------------------------------------------
def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def desired_messenger_profile(
    spec: MessengerProfileFile, *, public_url: str, account_linking_url: str | None = None
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

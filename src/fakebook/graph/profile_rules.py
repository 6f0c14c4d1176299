"""Messenger Profile property shapes and limits (contract §4), as readable (#100) errors.

Paths are written the way `message_rules` writes them (persistent_menu[0][call_to_actions][3]
[title]) and each limit error states the limit, so a bot author sees what broke which rule.
`check_properties` returns the values to store: what was sent, with the defaults Facebook fills
in (a menu's `composer_input_disabled` is false unless set).
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any
from urllib.parse import urlsplit

from fakebook.errors import GraphError, invalid_param
from fakebook.graph.message_rules import HEIGHT_RATIOS
from fakebook.messenger_profile import DEFAULT_LOCALE, PROPERTIES

GREETING_MAX = 160
PAYLOAD_MAX = 1000
MENU_ITEMS_MAX = 20
MENU_TITLE_MAX = 30
DOMAINS_MAX = 50
ICE_BREAKERS_MAX = 4
MENU_ITEM_TYPES = ("web_url", "postback")
DEPRECATED = {"home_url": "v7.0", "target_audience": "v5.0"}
# Facebook's locales are language_TERRITORY (en_US, fr_FR, zh_TW…) plus "default".
_LOCALE = re.compile(r"^[a-z]{2,3}_[A-Z]{2}$")
_WEB_URL_KEYS = {
    "type",
    "title",
    "url",
    "webview_height_ratio",
    "messenger_extensions",
    "fallback_url",
    "webview_share_button",
}


def _too_long(where: str, value: str, limit: int) -> GraphError:
    return invalid_param(
        f"Length of param {where} must be less than or equal to {limit} (it is {len(value)})"
    )


def _too_many(where: str, count: int, limit: int) -> GraphError:
    return invalid_param(f"param {where} has {count} items; the limit is {limit}")


def _string(value: Any, where: str, *, limit: int | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise invalid_param(f"param {where} must be a non-empty string.")
    if limit is not None and len(value) > limit:
        raise _too_long(where, value, limit)
    return value


def _object(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_param(f"param {where} must be an object.")
    extra = sorted(set(value) - allowed)
    if extra:
        raise invalid_param(f"param {where} has unexpected field(s): {', '.join(extra)}")
    return value


def _array(value: Any, where: str, *, limit: int | None = None) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise invalid_param(f"param {where} must be a non-empty array.")
    if limit is not None and len(value) > limit:
        raise _too_many(where, len(value), limit)
    return value


def _check_locales(entries: list[dict[str, Any]], name: str) -> None:
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        locale = _string(entry.get("locale"), f"{name}[{index}][locale]")
        if locale != DEFAULT_LOCALE and not _LOCALE.match(locale):
            raise invalid_param(f"param {name}[{index}][locale] {locale!r} is not a locale.")
        if locale in seen:
            raise invalid_param(f"param {name} has the locale {locale!r} twice.")
        seen.add(locale)
    if DEFAULT_LOCALE not in seen:
        raise invalid_param(f"param {name} must include an entry for the default locale.")


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _check_url(value: Any, where: str, *, allow_local: bool, domain_only: bool) -> str:
    url = _string(value, where)
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_local else ("https",)
    host = parts.hostname or ""
    if parts.scheme not in schemes or not host:
        raise invalid_param(f"param {where} must be an https URL, not {url!r}.")
    if domain_only and (parts.path not in ("", "/") or parts.query or parts.fragment):
        raise invalid_param(f"param {where} must be a domain like https://example.com: {url!r}.")
    if allow_local:
        return url
    if _is_local(host) or "." not in host:
        raise invalid_param(
            f"param {where} must name a fully qualified domain (no IP address or localhost):"
            f" {url!r}."
        )
    return url


def check_get_started(value: Any) -> dict[str, Any]:
    item = _object(value, "get_started", {"payload"})
    _string(item.get("payload"), "get_started[payload]", limit=PAYLOAD_MAX)
    return item


def check_greeting(value: Any) -> list[dict[str, Any]]:
    entries = _array(value, "greeting")
    for index, entry in enumerate(entries):
        _object(entry, f"greeting[{index}]", {"locale", "text"})
        _string(entry.get("text"), f"greeting[{index}][text]", limit=GREETING_MAX)
    _check_locales(entries, "greeting")
    return entries


def _check_menu_item(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise invalid_param(f"param {where} must be an object.")
    kind = item.get("type")
    if kind == "nested":
        raise invalid_param(
            f"param {where}[type]: nested menus were removed in v8.0; the menu is one level of"
            f" at most {MENU_ITEMS_MAX} items."
        )
    if kind not in MENU_ITEM_TYPES:
        raise invalid_param(f"param {where}[type] must be one of {{web_url, postback}}.")
    _string(item.get("title"), f"{where}[title]", limit=MENU_TITLE_MAX)
    if kind == "postback":
        _object(item, where, {"type", "title", "payload"})
        _string(item.get("payload"), f"{where}[payload]", limit=PAYLOAD_MAX)
        return item
    _object(item, where, _WEB_URL_KEYS)
    _check_url(item.get("url"), f"{where}[url]", allow_local=True, domain_only=False)
    ratio = item.get("webview_height_ratio")
    if ratio is not None and ratio not in HEIGHT_RATIOS:
        raise invalid_param(f"param {where}[webview_height_ratio] must be one of {HEIGHT_RATIOS}.")
    if "fallback_url" in item:
        if not item.get("messenger_extensions"):
            raise invalid_param(f"param {where}[fallback_url] requires messenger_extensions.")
        _check_url(
            item["fallback_url"], f"{where}[fallback_url]", allow_local=True, domain_only=False
        )
    share = item.get("webview_share_button")
    if share is not None and share != "hide":
        raise invalid_param(f'param {where}[webview_share_button] can only be "hide".')
    return item


def check_persistent_menu(value: Any) -> list[dict[str, Any]]:
    entries = _array(value, "persistent_menu")
    stored = []
    for index, entry in enumerate(entries):
        where = f"persistent_menu[{index}]"
        _object(
            entry,
            where,
            {"locale", "composer_input_disabled", "call_to_actions", "disabled_surfaces"},
        )
        disabled = entry.get("composer_input_disabled", False)
        if not isinstance(disabled, bool):
            raise invalid_param(f"param {where}[composer_input_disabled] must be a boolean.")
        actions = entry.get("call_to_actions")
        if actions is None or actions == []:
            if disabled:
                raise invalid_param(
                    f"param {where}[call_to_actions] must be non-empty when"
                    " composer_input_disabled is true."
                )
            actions = []
        else:
            actions = _array(actions, f"{where}[call_to_actions]", limit=MENU_ITEMS_MAX)
        for number, item in enumerate(actions):
            _check_menu_item(item, f"{where}[call_to_actions][{number}]")
        stored.append({**entry, "composer_input_disabled": disabled, "call_to_actions": actions})
    _check_locales(stored, "persistent_menu")
    return stored


def check_whitelisted_domains(value: Any, *, allow_local: bool) -> list[str]:
    domains = _array(value, "whitelisted_domains", limit=DOMAINS_MAX)
    return [
        _check_url(
            domain, f"whitelisted_domains[{index}]", allow_local=allow_local, domain_only=True
        )
        for index, domain in enumerate(domains)
    ]


def check_account_linking_url(value: Any, *, allow_local: bool) -> str:
    return _check_url(value, "account_linking_url", allow_local=allow_local, domain_only=False)


def _check_questions(items: Any, where: str) -> None:
    for index, item in enumerate(_array(items, where, limit=ICE_BREAKERS_MAX)):
        _object(item, f"{where}[{index}]", {"question", "payload"})
        _string(item.get("question"), f"{where}[{index}][question]")
        _string(item.get("payload"), f"{where}[{index}][payload]", limit=PAYLOAD_MAX)


def check_ice_breakers(value: Any) -> list[dict[str, Any]]:
    entries = _array(value, "ice_breakers")
    legacy = [isinstance(entry, dict) and "question" in entry for entry in entries]
    if any(legacy):
        if not all(legacy):
            raise invalid_param(
                "param ice_breakers mixes the per-locale format ({locale, call_to_actions}) with"
                " the legacy flat format ({question, payload}); use one."
            )
        _check_questions(entries, "ice_breakers")
        return entries
    for index, entry in enumerate(entries):
        where = f"ice_breakers[{index}]"
        _object(entry, where, {"locale", "call_to_actions"})
        _check_questions(entry.get("call_to_actions"), f"{where}[call_to_actions]")
    _check_locales(entries, "ice_breakers")
    return entries


def decode(name: str, value: Any) -> Any:
    """Form bodies carry objects and arrays as JSON strings (contract §0)."""
    if name == "account_linking_url" or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise invalid_param(f"param {name} must be valid JSON.") from None


def check_properties(
    values: dict[str, Any], *, get_started_set: bool, allow_local: bool
) -> dict[str, Any]:
    """Every property of one POST, checked together: nothing is stored if one is wrong."""
    checked: dict[str, Any] = {}
    for name in PROPERTIES:
        if name not in values:
            continue
        value = decode(name, values[name])
        if name == "get_started":
            checked[name] = check_get_started(value)
        elif name == "greeting":
            checked[name] = check_greeting(value)
        elif name == "persistent_menu":
            if not (get_started_set or "get_started" in values):
                # Facebook's wording for this case is UNCONFIRMED (contract §11.7).
                raise invalid_param(
                    "You must set a Get Started button if you also wish to use persistent menu."
                )
            checked[name] = check_persistent_menu(value)
        elif name == "ice_breakers":
            checked[name] = check_ice_breakers(value)
        elif name == "whitelisted_domains":
            checked[name] = check_whitelisted_domains(value, allow_local=allow_local)
        else:
            checked[name] = check_account_linking_url(value, allow_local=allow_local)
    return checked

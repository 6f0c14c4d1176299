"""The page's Messenger Profile (contract §4): what the Graph API stores, the simulator shows.

Values are kept exactly as accepted (after validation in `graph/profile_rules.py`), so a GET
returns what was set. `display` is the person's view of it: the greeting with their name filled
in, Get Started or the ice breakers, and the persistent menu, each in the person's locale.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from fakebook.people import Person

PROPERTIES = (
    "get_started",
    "greeting",
    "ice_breakers",
    "persistent_menu",
    "whitelisted_domains",
    "account_linking_url",
)
DEFAULT_LOCALE = "default"


def _for_locale(entries: list[dict[str, Any]], locale: str) -> dict[str, Any] | None:
    """The entry for `locale`, else the `default` one (Messenger's fallback)."""
    by_locale = {entry.get("locale"): entry for entry in entries}
    return by_locale.get(locale) or by_locale.get(DEFAULT_LOCALE)


def fill_placeholders(text: str, person: Person) -> str:
    return (
        text.replace("{{user_first_name}}", person.first_name)
        .replace("{{user_last_name}}", person.last_name)
        .replace("{{user_full_name}}", person.name)
    )


class MessengerProfile:
    def __init__(self) -> None:
        self.properties: dict[str, Any] = {}
        # Per-person persistent menus (custom_user_settings), by PSID; they win over the page's.
        self.user_menus: dict[str, list[dict[str, Any]]] = {}

    def get(self, fields: Iterable[str]) -> dict[str, Any]:
        wanted = set(fields)
        return {
            name: copy.deepcopy(self.properties[name])
            for name in PROPERTIES
            if name in wanted and name in self.properties
        }

    def update(self, values: dict[str, Any]) -> None:
        self.properties.update(copy.deepcopy(values))

    def delete(self, fields: Iterable[str]) -> None:
        for name in fields:
            self.properties.pop(name, None)

    def has(self, name: str) -> bool:
        return name in self.properties

    def display(self, person: Person, locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
        """What the chat simulator shows `person` (fakebook people have no locale of their own,
        so the `default` entries are the ones normally shown)."""
        props = self.properties
        greeting = _for_locale(props.get("greeting", []), locale)
        menus = self.user_menus.get(person.psid) or props.get("persistent_menu", [])
        menu = _for_locale(menus, locale)
        return {
            "greeting": fill_placeholders(greeting["text"], person) if greeting else None,
            "get_started": copy.deepcopy(props.get("get_started")),
            "ice_breakers": self._ice_breakers(locale),
            "persistent_menu": None
            if menu is None
            else {
                "composer_input_disabled": bool(menu.get("composer_input_disabled", False)),
                "call_to_actions": copy.deepcopy(menu.get("call_to_actions", [])),
            },
        }

    def _ice_breakers(self, locale: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.properties.get("ice_breakers", [])
        if entries and "question" in entries[0]:  # the legacy flat format
            return copy.deepcopy(entries)
        chosen = _for_locale(entries, locale)
        return copy.deepcopy(chosen.get("call_to_actions", [])) if chosen else []

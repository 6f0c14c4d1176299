"""What differs between the profile we want and the one the page has, and the calls that fix it.

Both are pure: the CLI reads the page, calls ``diff`` and ``plan``, and sends the steps in order.
Facebook's ordering rules decide that order: Get Started is set before the persistent menu
(a menu needs it), and the menu is deleted before Get Started (Get Started cannot go while a menu
stays). A property the file does not mention is left alone unless ``prune`` is asked for.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from botperms.messenger.profile import PROPERTIES

ChangeKind = Literal["added", "changed", "removed"]
_LOCALE_LISTS = ("greeting", "persistent_menu", "ice_breakers")


def _drop_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_nones(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_drop_nones(item) for item in value]
    return value


def normalize(name: str, value: Any) -> Any:
    """The form two values are compared in: what Facebook fills in or reorders is evened out
    (a menu's composer_input_disabled defaults to false, domain order carries no meaning)."""
    value = _drop_nones(value)
    if name == "whitelisted_domains" and isinstance(value, list):
        return sorted({str(domain).rstrip("/") for domain in value})
    if name == "persistent_menu" and isinstance(value, list):
        value = [
            {"composer_input_disabled": False, "call_to_actions": [], **entry}
            if isinstance(entry, dict)
            else entry
            for entry in value
        ]
    per_locale = isinstance(value, list) and all(
        isinstance(entry, dict) and "locale" in entry for entry in value
    )
    if name in _LOCALE_LISTS and per_locale:
        return sorted(value, key=lambda entry: str(entry["locale"]))
    return value


def _pretty(value: Any) -> list[str]:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True).splitlines()


@dataclass(frozen=True)
class Change:
    property: str
    kind: ChangeKind
    before: Any = None
    after: Any = None

    def lines(self) -> list[str]:
        """A unified diff of the property's JSON: ``-`` what the page has, ``+`` what it gets."""
        # Both sides in compared form, so only real differences show up as - and + lines.
        before = _pretty(normalize(self.property, self.before)) if self.kind != "added" else []
        after = _pretty(normalize(self.property, self.after)) if self.kind != "removed" else []
        diff = difflib.unified_diff(before, after, "on the page", "after apply", lineterm="", n=2)
        # Hunk headers help only between the kept context lines of a change.
        noise = ("---", "+++") if self.kind == "changed" else ("---", "+++", "@@")
        return [line for line in diff if not line.startswith(noise)]


@dataclass(frozen=True)
class ProfileDiff:
    changes: tuple[Change, ...]
    # Set on the page, absent from the file, and kept because prune was not asked for.
    unmanaged: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changes)


def diff(
    desired: Mapping[str, Any], current: Mapping[str, Any], *, prune: bool = False
) -> ProfileDiff:
    changes: list[Change] = []
    unmanaged: list[str] = []
    for name in PROPERTIES:
        want, have = desired.get(name), current.get(name)
        if want is None:
            if have is None:
                continue
            if prune:
                changes.append(Change(name, "removed", before=have))
            else:
                unmanaged.append(name)
        elif have is None:
            changes.append(Change(name, "added", after=want))
        elif normalize(name, want) != normalize(name, have):
            changes.append(Change(name, "changed", before=have, after=want))
    return ProfileDiff(tuple(changes), tuple(unmanaged))


@dataclass(frozen=True)
class Step:
    """One Messenger Profile call: ``set`` (POST ``values``) or ``delete`` (DELETE ``fields``)."""

    action: Literal["set", "delete"]
    fields: tuple[str, ...]
    values: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.action} {', '.join(self.fields)}"


def _set(values: dict[str, Any]) -> Step:
    return Step("set", tuple(values), values)


def plan(changes: ProfileDiff) -> list[Step]:
    """The calls that turn the page's profile into the desired one, in an order Facebook takes."""
    removed = [change.property for change in changes.changes if change.kind == "removed"]
    setting = {c.property: c.after for c in changes.changes if c.kind != "removed"}
    steps: list[Step] = []
    if "persistent_menu" in removed:
        steps.append(Step("delete", ("persistent_menu",)))
    others = tuple(name for name in removed if name != "persistent_menu")
    if others:
        steps.append(Step("delete", others))
    first = {name: value for name, value in setting.items() if name != "persistent_menu"}
    if first:
        steps.append(_set(first))
    if "persistent_menu" in setting:
        steps.append(_set({"persistent_menu": setting["persistent_menu"]}))
    return steps


def reset_plan(current: Mapping[str, Any]) -> list[Step]:
    """The calls that remove every property the page has (the menu before Get Started)."""
    return plan(diff({}, current, prune=True))

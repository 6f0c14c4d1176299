"""A bot and its routers merged into one table, in the order the dispatcher tries routes.

Built once per change of the tree (the dispatcher compares ``Routes._version``), never per
event: looking up an event is a few dict lookups and, for messages that reach them, the
patterns. Merging walks the tree depth first (a bot's own routes, then each included router's,
in include order), so the only order that matters is the documented one: patterns and
filtered routes are tried in that walk's order; everything else is keyed. Two plain routes for
one key anywhere in the tree are a :class:`RegistrationError`, since which should win would
depend on the order of registration.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from botperms.bot.context import Handler
from botperms.bot.moments import ErrorHandler, FailureHandler, LoginHandler
from botperms.bot.registration import RegistrationError
from botperms.bot.route import Middleware, Route, Slot, normalized
from botperms.bot.routing import Routes
from botperms.messenger import MessagingEvent


def walk(root: Routes) -> Iterator[Routes]:
    """``root`` and every router under it, depth first, in include order."""
    yield root
    for router in root._routers:
        yield from walk(router)


@dataclass
class Table:
    """Every route of a bot's tree, merged. ``candidates`` is the hot path."""

    quick_replies: dict[str, tuple[Route, ...]] = field(default_factory=dict)
    texts: dict[str, tuple[Route, ...]] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern[str], Route]] = field(default_factory=list)
    any_message: tuple[Route, ...] = ()
    postbacks: dict[str, tuple[Route, ...]] = field(default_factory=dict)
    events: dict[str, tuple[Route, ...]] = field(default_factory=dict)
    fallback: tuple[Route, ...] = ()
    on_login: tuple[LoginHandler, ...] = ()
    on_login_failed: tuple[FailureHandler, ...] = ()
    on_account_linking: tuple[Handler, ...] = ()
    on_standby: tuple[Handler, ...] = ()

    def candidates(self, event: MessagingEvent) -> list[Route]:
        """The routes ``event`` may reach, in precedence order; the list ends at the first
        route without filters (it always matches, so nothing after it could run)."""
        found: list[Route] = []
        kind = event.kind
        if kind == "postback":
            payload = event.postback.payload if event.postback else None
            if _extend(found, self.postbacks.get(payload or "", ())):
                return found
            _extend(found, self.fallback)
            return found
        if kind != "message" or event.message is None:
            _extend(found, self.events.get(kind, ()))
            return found
        message = event.message
        tapped = message.quick_reply
        if tapped is not None and _extend(found, self.quick_replies.get(tapped.payload, ())):
            return found
        body = (message.text or "").strip()
        if body and _extend(found, self.texts.get(normalized(body), ())):
            return found
        for compiled, route in self.patterns:
            if compiled.search(body):
                found.append(route)
                if not route.filters:
                    return found
        if _extend(found, self.any_message):
            return found
        _extend(found, self.fallback)
        return found


def _extend(found: list[Route], routes: tuple[Route, ...]) -> bool:
    """Add ``routes``; True when one of them has no filters (the walk can stop)."""
    found.extend(routes)
    return bool(routes) and not routes[-1].filters


def build(root: Routes) -> Table:
    """Merge ``root``'s tree; :class:`RegistrationError` for two plain routes on one key."""
    table = Table()
    slots: dict[str, dict[str, list[Slot]]] = {
        "quick_reply": {},
        "text": {},
        "postback": {},
        "event": {},
    }
    any_slots: list[Slot] = []
    fallbacks: list[Route] = []
    on_login: list[LoginHandler] = []
    on_login_failed: list[FailureHandler] = []
    on_account_linking: list[Handler] = []
    on_standby: list[Handler] = []
    for node in walk(root):
        for what, own in (
            ("quick_reply", node._quick_replies),
            ("text", node._texts),
            ("postback", node._postbacks),
            ("event", node._events),
        ):
            for key, slot in own.items():
                slots[what].setdefault(key, []).append(slot)
        table.patterns.extend(node._patterns)
        any_slots.append(node._any_message)
        if node._fallback is not None:
            fallbacks.append(node._fallback)
        on_login.extend(node._on_login)
        on_login_failed.extend(node._on_login_failed)
        on_account_linking.extend(node._on_account_linking)
        on_standby.extend(node._on_standby)
    table.quick_replies = _merged(slots["quick_reply"], "quick_reply")
    table.texts = _merged(slots["text"], "text")
    table.postbacks = _merged(slots["postback"], "on_postback")
    table.events = _merged(slots["event"], "on_event")
    table.any_message = _merge(any_slots, "on_message()", "")
    _one([*fallbacks], "fallback", "")
    table.fallback = tuple(fallbacks)
    table.on_login = tuple(on_login)
    table.on_login_failed = tuple(on_login_failed)
    table.on_account_linking = tuple(on_account_linking)
    table.on_standby = tuple(on_standby)
    return table


def _merged(keyed: dict[str, list[Slot]], what: str) -> dict[str, tuple[Route, ...]]:
    return {key: _merge(slots, what, key) for key, slots in keyed.items()}


def _merge(slots: list[Slot], what: str, key: str) -> tuple[Route, ...]:
    filtered = [route for slot in slots for route in slot.filtered]
    plain = [slot.plain for slot in slots if slot.plain is not None]
    _one(plain, what, key)
    return (*filtered, *plain)


def _one(plain: list[Route], what: str, key: str) -> None:
    if len(plain) > 1:
        owners = " and ".join(repr(route.owner) for route in plain[:2])
        where = f"{what} {key!r}" if key else what
        raise RegistrationError(
            f"{owners} both handle {where} without filters; only one can: remove one, or "
            "give one a filter"
        )


def check_tree(root: Routes) -> None:
    """Raise now what building ``root``'s table would raise at the first event."""
    build(root)


def error_handlers(owner: Routes) -> tuple[ErrorHandler, ...]:
    """The ``on_error`` handlers for a failure in ``owner``'s handler: its own, or else the
    nearest router (or bot) above it that has some."""
    node: Routes | None = owner
    while node is not None:
        if node._on_error:
            return tuple(node._on_error)
        node = node._parent
    return ()


def middleware_between(root: Routes, owner: Routes) -> tuple[Middleware, ...]:
    """The routers' middleware around a handler of ``owner``: from the router just under the
    bot down to ``owner`` itself (the bot's own middleware runs outside routing)."""
    chain: list[Routes] = []
    node: Routes | None = owner
    while node is not None and node is not root:
        chain.append(node)
        node = node._parent
    return tuple(mw for router in reversed(chain) for mw in router._middleware)


__all__ = ["Table", "build", "check_tree", "error_handlers", "middleware_between", "walk"]

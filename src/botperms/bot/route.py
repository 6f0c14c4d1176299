"""A route: a handler, the filters that guard it and the bot or router that registered it, and
the slots that keep one key's routes (``botperms.bot.routing`` fills them, ``botperms.bot.table``
merges them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botperms.bot.context import Context, Handler

if TYPE_CHECKING:
    from botperms.bot.routing import Routes

Filter = Callable[[Context], bool | Awaitable[bool]]
Next = Callable[[Context], Awaitable[None]]
Middleware = Callable[[Context, Next], Awaitable[None]]


def normalized(text: str) -> str:
    """How ``text=`` routes compare: case, surrounding whitespace and runs of spaces ignored."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True, slots=True, eq=False)
class Route:
    """One registered handler: the filters that must all pass, and who registered it."""

    handler: Handler
    filters: tuple[Filter, ...]
    owner: Routes


@dataclass(slots=True)
class Slot:
    """The routes of one key (a text, a payload, an event kind): filtered ones, tried in the
    order registered, then at most one without filters (registering another replaces it)."""

    filtered: list[Route] = field(default_factory=list)
    plain: Route | None = None

    def add(self, route: Route) -> None:
        if route.filters:
            self.filtered.append(route)
        else:
            self.plain = route

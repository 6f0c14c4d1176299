"""``Bot``: the root of a bot's handlers, the settings of its framework behaviour, and which
handler an event reaches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from botperms.bot.context import Handler
from botperms.bot.prompts import Prompts
from botperms.bot.routing import Routes
from botperms.bot.table import Table, build, walk
from botperms.messenger import MessagingEvent

__all__ = ["Bot"]


@dataclass(repr=False)
class Bot(Routes):
    """A Messenger bot: decorate async handlers (here or on a :class:`~botperms.Router` it
    includes), then run it with ``botperms demo module:attribute`` (against fakebook) or
    ``botperms serve module:attribute``.

    ``name``: a label for the bot (shown in its repr; botperms does not use it otherwise).
    ``max_reasks``: how many times a declined permission is asked for again (with
    ``auth_type=rerequest``) before the framework gives up on the waiting request.
    ``intent_ttl``: how long a request that needed a login waits for it. ``prompts``: the
    framework's own messages (see :class:`Prompts`). ``strict_order``: while a person's
    event waits for a retry after its handler failed, their later events wait too (True,
    the default: the bot never answers out of order), or go ahead of it (False: the person
    is not kept waiting, but a retried event may be answered after later ones).
    """

    name: str = "bot"
    max_reasks: int = 2
    intent_ttl: timedelta = timedelta(hours=1)
    prompts: Prompts = field(default_factory=Prompts)
    strict_order: bool = True

    def __post_init__(self) -> None:
        if self.max_reasks < 0:
            raise ValueError("max_reasks must be 0 or more")
        if self.intent_ttl <= timedelta(0):
            raise ValueError("intent_ttl must be positive")
        self._init_routes()
        self._table: Table | None = None
        self._table_version = -1

    def __repr__(self) -> str:
        return f"Bot(name={self.name!r}, max_reasks={self.max_reasks!r})"

    def _merged_table(self) -> Table:
        """Every route of this bot and its routers, merged (rebuilt only after a change)."""
        if self._table is None or self._table_version != self._version:
            self._table = build(self)
            self._table_version = self._version
        return self._table

    def registered(self) -> list[tuple[str, str, Handler]]:
        """Every message, postback and event route of the bot and its routers as ``(kind,
        key, handler)``: kinds ``"text"``, ``"pattern"``, ``"quick_reply"``, ``"postback"``,
        ``"event"`` (the key is the event kind), ``"any"`` and ``"fallback"`` (the last two
        with an empty key). The demo reads it to describe the bot."""
        table = self._merged_table()
        routes: list[tuple[str, str, Handler]] = [
            *(("quick_reply", k, r.handler) for k, rs in table.quick_replies.items() for r in rs),
            *(("text", k, r.handler) for k, rs in table.texts.items() for r in rs),
            *(("pattern", c.pattern, r.handler) for c, r in table.patterns),
            *(("postback", k, r.handler) for k, rs in table.postbacks.items() for r in rs),
            *(("event", k, r.handler) for k, rs in table.events.items() for r in rs),
        ]
        routes += [("any", "", route.handler) for route in table.any_message]
        routes += [("fallback", "", route.handler) for route in table.fallback]
        return routes

    @property
    def routers(self) -> list[Routes]:
        """The routers under this bot, depth first in include order."""
        return list(walk(self))[1:]

    def route(self, event: MessagingEvent) -> Handler | None:
        """The handler a message, postback or ``on_event`` event reaches when no filter is
        involved (routes with filters need a :class:`Context` and are skipped here); None
        for events no route takes (they are ignored). Useful to test routes without a
        server."""
        for route in self._merged_table().candidates(event):
            if not route.filters:
                return route.handler
        return None

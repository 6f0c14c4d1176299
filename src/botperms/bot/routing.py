"""The decorators ``Bot`` and ``Router`` share, and the routes they record.

A ``Routes`` holds one registrar's own routes; ``botperms.bot.table`` merges a bot and the
routers it includes into the precedence order the dispatcher walks. Every decorator checks what
it is given when it is applied (see ``botperms.bot.registration``), so a mistake stops the
import at the author's line instead of failing at the first event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, overload

from botperms.bot.context import Handler
from botperms.bot.moments import ErrorHandler, FailureHandler, LoginHandler, Moments
from botperms.bot.registration import (
    ARGUMENTS,
    EVENT_HANDLER_KINDS,
    RegistrationError,
    check_bare_handler,
    check_event_kind,
    check_filters,
    check_handler,
    check_payload,
    looks_like_filter,
    unknown_decorator,
)
from botperms.bot.route import Filter, Middleware, Next, Route, Slot, normalized


class Routes(Moments):
    """What ``Bot`` and ``Router`` have in common: the decorators and the routes they record.

    Subclasses call :meth:`_init_routes` when they are created."""

    def _init_routes(self) -> None:
        self._quick_replies: dict[str, Slot] = {}
        self._texts: dict[str, Slot] = {}
        self._patterns: list[tuple[re.Pattern[str], Route]] = []
        self._any_message = Slot()
        self._postbacks: dict[str, Slot] = {}
        self._events: dict[str, Slot] = {}
        self._fallback: Route | None = None
        self._on_login: list[LoginHandler] = []
        self._on_login_failed: list[FailureHandler] = []
        self._on_error: list[ErrorHandler] = []
        self._on_account_linking: list[Handler] = []
        self._on_standby: list[Handler] = []
        self._middleware: list[Middleware] = []
        self._routers: list[Router] = []
        self._parent: Routes | None = None
        # Bumped (on the root) by every registration anywhere in the tree: the dispatcher
        # rebuilds its merged table when it changed, and never otherwise.
        self._version = 0

    def _root(self) -> Routes:
        node = self
        while node._parent is not None:
            node = node._parent
        return node

    def _changed(self) -> None:
        root = self._root()
        root._version += 1
        if root is not self:
            from botperms.bot.table import check_tree  # table imports this module

            check_tree(root)  # a router registered into after its include: check it now

    def _route(self, handler: Handler, filters: tuple[Filter, ...], kind: str) -> Route:
        check_handler(handler, kind, self._label)
        return Route(handler, filters, self)

    def _filters(
        self, positional: Sequence[object], keyword: Sequence[object], kind: str
    ) -> tuple[Filter, ...]:
        checked = check_filters((*positional, *keyword), kind, self._label)
        return checked  # type: ignore[return-value]  # checked to be callables of one ctx

    # -- messages, postbacks, other events ------------------------------------------------
    @overload
    def on_message(self, handler: Handler, /) -> Handler: ...
    @overload
    def on_message(
        self,
        *predicates: Filter,
        text: str | None = None,
        pattern: str | None = None,
        quick_reply: str | None = None,
        filters: Sequence[Filter] = (),
    ) -> Callable[[Handler], Handler]: ...
    def on_message(
        self,
        *predicates: Filter | Handler,
        text: str | None = None,
        pattern: str | None = None,
        quick_reply: str | None = None,
        filters: Sequence[Filter] = (),
    ) -> Handler | Callable[[Handler], Handler]:
        """Handle a message: one whose text equals ``text`` (ignoring case and surrounding
        whitespace; a run of spaces inside counts as one), one whose text ``pattern`` (a regex,
        searched case-insensitively) is found in, a tapped quick reply carrying the payload
        ``quick_reply``, or — with none of them — any message (stickers and attachments, which
        have no text, included). Several conditions register the handler for each of them.
        ``@bot.on_message`` without parentheses is the same as ``@bot.on_message()``.

        Filters, positional or ``filters=[...]``, are callables ``f(ctx) -> bool`` (or an
        awaitable bool); the route is taken only when all of them are true. An async filter
        goes by ``filters=`` or beside a condition: alone and positional it would read as the
        bare ``@bot.on_message`` on a handler.

        Precedence, whatever the order of registration: a quick reply's exact payload first,
        then exact text, then patterns (in the order they were registered; the first match
        wins), then the route without conditions, then :meth:`fallback`. Within each step,
        routes with filters come first, in the order registered, then the one without. A
        tapped quick reply whose payload has no route is matched by the text on it.
        Registering the same text, payload or the route without conditions again (without
        filters) replaces the earlier handler.
        """
        bare = len(predicates) == 1 and not filters
        if bare and text is None and pattern is None and quick_reply is None:
            handler = predicates[0]
            # The bare form: a lone handler can only mean "any message".
            if callable(handler) and not looks_like_filter(handler):
                check_bare_handler(handler, self._label)
                return self.on_message()(handler)  # type: ignore[arg-type]
        checked = self._filters(predicates, filters, "on_message")
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise RegistrationError(f"@{self._label}.on_message(text={text!r}) needs some text")
        try:
            compiled = re.compile(pattern, re.IGNORECASE) if pattern is not None else None
        except re.error as exc:
            raise RegistrationError(
                f"@{self._label}.on_message(pattern={pattern!r}) is not a regular expression: {exc}"
            ) from None

        def register(handler: Handler) -> Handler:
            route = self._route(handler, checked, "on_message")
            if quick_reply is not None:
                self._quick_replies.setdefault(quick_reply, Slot()).add(route)
            if text is not None:
                self._texts.setdefault(normalized(text), Slot()).add(route)
            if compiled is not None:
                self._patterns.append((compiled, route))
            if quick_reply is None and text is None and compiled is None:
                self._any_message.add(route)
            self._changed()
            return handler

        return register

    def on_postback(
        self, payload: str, *predicates: Filter, filters: Sequence[Filter] = ()
    ) -> Callable[[Handler], Handler]:
        """Handle a postback (button, Get Started, menu item) with this exact payload
        (case matters), when every filter passes. Registering a payload again without filters
        replaces its handler."""
        checked_payload = check_payload(payload, self._label)
        checked = self._filters(predicates, filters, "on_postback")

        def register(handler: Handler) -> Handler:
            slot = self._postbacks.setdefault(checked_payload, Slot())
            slot.add(self._route(handler, checked, "on_postback"))
            self._changed()
            return handler

        return register

    def on_event(
        self, kind: str, *predicates: Filter, filters: Sequence[Filter] = ()
    ) -> Callable[[Handler], Handler]:
        """Handle the other kinds of webhook event: ``"reaction"``, ``"read"``,
        ``"delivery"``, ``"referral"``, ``"optin"``, ``"message_edit"``, ``"echo"`` (the page's
        own messages), ``"policy_enforcement"``, the handover events ``"pass_thread_control"``,
        ``"take_thread_control"``, ``"request_thread_control"`` and ``"app_roles"``. The
        event is ``ctx.event`` (``ctx.event.reaction``, ``ctx.event.read``, …).
        ``policy_enforcement`` and ``app_roles`` concern the page, not a person: ``ctx.psid``
        is empty and replying raises. Filters work as for :meth:`on_message`; several
        handlers of one kind with filters are tried in the order registered, then the one
        without (registering another replaces it)."""
        checked_kind = check_event_kind(kind, self._label)
        checked = self._filters(predicates, filters, "on_event")

        def register(handler: Handler) -> Handler:
            slot = self._events.setdefault(checked_kind, Slot())
            slot.add(self._route(handler, checked, "on_event"))
            self._changed()
            return handler

        return register

    @overload
    def fallback(self, handler: Handler, /) -> Handler: ...
    @overload
    def fallback(self) -> Callable[[Handler], Handler]: ...
    def fallback(self, handler: Handler | None = None) -> Handler | Callable[[Handler], Handler]:
        """Handle any message or postback no other route took. Registering another fallback
        replaces it; a bot and its routers have one between them. ``@bot.fallback`` and
        ``@bot.fallback()`` are the same."""

        def register(handler: Handler) -> Handler:
            self._fallback = self._route(handler, (), "fallback")
            self._changed()
            return handler

        return register if handler is None else register(handler)

    # -- composition ----------------------------------------------------------------------
    def middleware(self, middleware: Middleware) -> Middleware:
        """``@bot.middleware`` on ``async def mw(ctx, call_next)``: runs around events, in the
        order registered (the first registered is the outermost). ``await call_next(ctx)``
        goes on to the next middleware and then the handler; not calling it stops the event
        there (what the middleware itself replied still goes out). On a ``Bot`` it runs
        around every message, postback and ``on_event`` event, whether a route matches or
        not; on a ``Router``, around the handlers of that router and the routers it
        includes, after the bot's."""
        check_handler(middleware, "middleware", self._label)
        self._middleware.append(middleware)
        self._changed()
        return middleware

    def include_router(self, router: Router) -> Router:
        """Add ``router``'s routes (and those of the routers it includes) to this one's. The
        precedence of :meth:`on_message` holds across all of them; a text, payload, event
        kind, fallback or unconditioned route that two of them register without filters is
        a :class:`~botperms.bot.registration.RegistrationError`. Returns ``router``."""
        if not isinstance(router, Router):
            what = "a Bot" if isinstance(router, Routes) else repr(router)
            raise RegistrationError(f"include_router takes a Router, not {what}")
        if router._parent is not None:
            raise RegistrationError(f"{router!r} is already included elsewhere")
        node: Routes | None = self
        while node is not None:
            if node is router:
                raise RegistrationError(f"{router!r} cannot include itself")
            node = node._parent
        router._parent = self
        self._routers.append(router)
        try:
            self._changed()
            if self._root() is self:
                from botperms.bot.table import check_tree

                check_tree(self)
        except RegistrationError:
            self._routers.remove(router)
            router._parent = None
            raise
        return router

    if not TYPE_CHECKING:  # hidden from mypy, which must still flag bot.on_mesage itself

        def __getattr__(self, name: str) -> object:
            # Only called when normal lookup failed: a typo such as @bot.on_mesage.
            if name.startswith("_"):
                raise AttributeError(name)
            public = [n for n in dir(type(self)) if not n.startswith("_")]
            decorators = [n for n in public if n in ARGUMENTS]
            others = [n for n in public if n not in ARGUMENTS]
            others += [n for n in vars(self) if not n.startswith("_")]
            raise unknown_decorator(name, decorators, others, type(self).__name__)


class Router(Routes):
    """A group of handlers with the same decorators as ``Bot``, added to a bot with
    ``bot.include_router(router)`` (routers include routers too). ``name`` labels it in
    error messages and its repr."""

    _label = "router"

    def __init__(self, name: str = "router") -> None:
        self.name = name
        self._init_routes()

    def __repr__(self) -> str:
        return f"Router({self.name!r})"


__all__ = ["EVENT_HANDLER_KINDS", "Filter", "Middleware", "Next", "Router", "Routes"]

"""``Bot``: the handlers a bot author registers, and how events reach them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from botperms.bot.context import Context, Handler, Runtime
from botperms.messenger import MessagingEvent
from botperms.store import GrantRecord

log = structlog.get_logger(__name__)

LoginHandler = Callable[[Context, tuple[str, ...]], Awaitable[None]]
FailureHandler = Callable[[Context, str], Awaitable[None]]


@dataclass(frozen=True)
class _MessageRoute:
    handler: Handler
    text: str | None = None
    pattern: re.Pattern[str] | None = None
    quick_reply: str | None = None

    def matches(self, event: MessagingEvent) -> bool:
        message = event.message
        if message is None:
            return False
        if self.quick_reply is not None:
            return (
                message.quick_reply is not None and message.quick_reply.payload == self.quick_reply
            )
        body = (message.text or "").strip()
        if self.text is not None:
            return body.casefold() == self.text.casefold()
        if self.pattern is not None:
            return self.pattern.search(body) is not None
        return True


@dataclass
class Bot:
    """A Messenger bot: decorate async handlers, then run it with ``botperms serve``."""

    name: str = "bot"
    _messages: list[_MessageRoute] = field(default_factory=list)
    _postbacks: dict[str, Handler] = field(default_factory=dict)
    _fallback: Handler | None = None
    _on_login: list[LoginHandler] = field(default_factory=list)
    _on_login_failed: list[FailureHandler] = field(default_factory=list)

    # -- registration ---------------------------------------------------------------------
    def on_message(
        self, text: str | None = None, *, pattern: str | None = None, quick_reply: str | None = None
    ) -> Callable[[Handler], Handler]:
        """Handle a text message equal to ``text`` (ignoring case and surrounding whitespace),
        one whose text ``pattern`` (a regex, searched case-insensitively) is found in, one
        carrying the quick-reply payload ``quick_reply``, or any message if none is given.
        Routes are tried in the order they were registered: the first match wins, so register
        exact texts before broader patterns."""
        compiled = re.compile(pattern, re.IGNORECASE) if pattern else None

        def register(handler: Handler) -> Handler:
            self._messages.append(_MessageRoute(handler, text, compiled, quick_reply))
            return handler

        return register

    def on_postback(self, payload: str) -> Callable[[Handler], Handler]:
        """Handle a postback (button, Get Started, menu item) with this exact payload."""

        def register(handler: Handler) -> Handler:
            self._postbacks[payload] = handler
            return handler

        return register

    def fallback(self, handler: Handler) -> Handler:
        """Handle any message or postback no other route took."""
        self._fallback = handler
        return handler

    def on_login(self, handler: LoginHandler) -> LoginHandler:
        """Called after a person finished Facebook Login, with the scopes they declined."""
        self._on_login.append(handler)
        return handler

    def on_login_failed(self, handler: FailureHandler) -> FailureHandler:
        """Called when a login did not complete, with the reason code (see ``FailureReason``)."""
        self._on_login_failed.append(handler)
        return handler

    # -- dispatch -------------------------------------------------------------------------
    def route(self, event: MessagingEvent) -> Handler | None:
        """The handler for a message or postback; echoes, deliveries, reads and other events
        get none (they are ignored)."""
        if event.kind == "message":
            for route in self._messages:
                if route.matches(event):
                    return route.handler
            return self._fallback
        if event.kind == "postback":
            payload = event.postback.payload if event.postback else None
            handler = self._postbacks.get(payload or "")
            return handler or self._fallback
        return None


class Dispatcher:
    """Runs a ``Bot`` against a ``Runtime``: webhook events in, login outcomes in."""

    def __init__(self, bot: Bot, runtime: Runtime) -> None:
        self.bot = bot
        self.runtime = runtime

    async def context(self, page_id: str, psid: str, event: MessagingEvent | None) -> Context:
        grant = await self.runtime.store.active_grant(page_id, psid)
        if grant is not None and grant.is_expired:
            # A lapsed token is no grant: handlers see "not logged in" and can ask again.
            await self.runtime.store.expire_grant(page_id, psid, reason="token_expired")
            log.info("grant.expired", page_id=page_id, psid=psid)
            grant = None
        return Context(self.runtime, page_id, psid, event, grant)

    async def handle(self, event: MessagingEvent) -> None:
        handler = self.bot.route(event)
        page_id, psid = event.page_id, event.psid
        if handler is None or page_id is None or psid is None:
            log.debug("event.ignored", kind=event.kind)
            return
        await handler(await self.context(page_id, psid, event))

    # LoginListener (structural: the flows layer calls these)
    async def login_succeeded(self, grant: GrantRecord, requested: tuple[str, ...]) -> None:
        ctx = Context(self.runtime, grant.page_id, grant.psid, None, grant)
        declined = tuple(scope for scope in requested if not grant.has_scopes(scope))
        for handler in self.bot._on_login:
            await handler(ctx, declined)

    async def login_failed(self, page_id: str, psid: str, reason: str) -> None:
        ctx = await self.context(page_id, psid, None)
        for handler in self.bot._on_login_failed:
            await handler(ctx, str(reason))

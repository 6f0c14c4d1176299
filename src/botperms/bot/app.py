"""``Bot``: the handlers a bot author registers, and how events reach them."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from botperms.bot.context import Context, Handler, Runtime
from botperms.messenger import MessagingEvent
from botperms.store import GrantRecord, NewInboxItem

log = structlog.get_logger(__name__)

# Inbox events botperms makes itself (login outcomes) carry their data under this key; the
# webhook drops it from anything Facebook sends, so it cannot be forged from outside.
INTERNAL_FIELD = "botperms"

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
        outcome = (event.model_extra or {}).get(INTERNAL_FIELD)
        if isinstance(outcome, dict):
            await self._login_outcome(event, outcome)
            return
        handler = self.bot.route(event)
        page_id, psid = event.page_id, event.psid
        if handler is None or page_id is None or psid is None:
            log.debug("event.ignored", kind=event.kind)
            return
        await handler(await self.context(page_id, psid, event))

    # LoginListener (structural: the flows layer calls these). The outcome is queued in the
    # inbox as an event of the conversation, not handled here: the browser's page does not wait
    # for the bot's Graph calls, the outcome survives a restart and is retried like any event,
    # and it is handled in order with the person's messages.
    async def login_succeeded(self, grant: GrantRecord, requested: tuple[str, ...]) -> None:
        outcome = {"login": "succeeded", "requested": list(requested)}
        await self._queue(grant.page_id, grant.psid, f"login:{grant.id}", outcome)

    async def login_failed(self, page_id: str, psid: str, reason: str) -> None:
        outcome = {"login": "failed", "reason": str(reason)}
        await self._queue(page_id, psid, f"login-failed:{uuid.uuid4().hex}", outcome)

    async def _queue(self, page_id: str, psid: str, key: str, outcome: dict[str, Any]) -> None:
        now = int(time.time() * 1000)
        payload = {
            "sender": {"id": psid},
            "recipient": {"id": page_id},
            "timestamp": now,
            INTERNAL_FIELD: outcome,
        }
        item = NewInboxItem(
            event_key=key, page_id=page_id, psid=psid, kind="login", payload=payload, event_time=now
        )
        await self.runtime.store.inbox_add([item])
        self.runtime.wake_inbox()

    async def _login_outcome(self, event: MessagingEvent, outcome: dict[str, Any]) -> None:
        page_id, psid = event.page_id, event.psid
        if page_id is None or psid is None:
            return
        ctx = await self.context(page_id, psid, None)
        if outcome.get("login") == "succeeded":
            if ctx.grant is None:
                return  # revoked (or expired) before we got to it: nothing to announce
            requested = tuple(str(scope) for scope in outcome.get("requested", []))
            declined = tuple(scope for scope in requested if not ctx.grant.has_scopes(scope))
            for handler in self.bot._on_login:
                await handler(ctx, declined)
        else:
            for failure_handler in self.bot._on_login_failed:
                await failure_handler(ctx, str(outcome.get("reason", "")))

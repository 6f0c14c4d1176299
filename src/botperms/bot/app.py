"""``Bot``: the handlers a bot author registers, and which one an event reaches."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from botperms.bot.context import Context, Handler
from botperms.bot.prompts import Prompts
from botperms.messenger import MessagingEvent

# Inbox events botperms makes itself (login outcomes, replays) carry their data under this key;
# the webhook drops it from anything Facebook sends, so it cannot be forged from outside.
INTERNAL_FIELD = "botperms"

LoginHandler = Callable[[Context, tuple[str, ...]], Awaitable[None]]
FailureHandler = Callable[[Context, str], Awaitable[None]]


def _normalized(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass
class Bot:
    """A Messenger bot: decorate async handlers, then run it with ``botperms demo
    module:attribute`` (against fakebook) or ``botperms serve module:attribute``.

    ``name``: a label for the bot (shown in its repr; botperms does not use it otherwise).
    ``max_reasks``: how many times a declined permission is asked for again (with
    ``auth_type=rerequest``) before the framework gives up on the waiting request.
    ``intent_ttl``: how long a request that needed a login waits for it. ``prompts``: the
    framework's own messages (see :class:`Prompts`).
    """

    name: str = "bot"
    max_reasks: int = 2
    intent_ttl: timedelta = timedelta(hours=1)
    prompts: Prompts = field(default_factory=Prompts)
    _quick_replies: dict[str, Handler] = field(default_factory=dict, repr=False)
    _texts: dict[str, Handler] = field(default_factory=dict, repr=False)
    _patterns: list[tuple[re.Pattern[str], Handler]] = field(default_factory=list, repr=False)
    _any_message: Handler | None = field(default=None, repr=False)
    _postbacks: dict[str, Handler] = field(default_factory=dict, repr=False)
    _fallback: Handler | None = field(default=None, repr=False)
    _on_login: list[LoginHandler] = field(default_factory=list, repr=False)
    _on_login_failed: list[FailureHandler] = field(default_factory=list, repr=False)
    _on_account_linking: list[Handler] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.max_reasks < 0:
            raise ValueError("max_reasks must be 0 or more")
        if self.intent_ttl <= timedelta(0):
            raise ValueError("intent_ttl must be positive")

    # -- registration ---------------------------------------------------------------------
    def on_message(
        self, text: str | None = None, *, pattern: str | None = None, quick_reply: str | None = None
    ) -> Callable[[Handler], Handler]:
        """Handle a message: one whose text equals ``text`` (ignoring case and surrounding
        whitespace; a run of spaces inside counts as one), one whose text ``pattern`` (a regex,
        searched case-insensitively) is found in, a tapped quick reply carrying the payload
        ``quick_reply``, or — with none of them — any message (stickers and attachments, which
        have no text, included). Several conditions register the handler for each of them.

        Precedence, whatever the order of registration: a quick reply's exact payload first,
        then exact text, then patterns (in the order they were registered; the first match
        wins), then the route without conditions, then :meth:`fallback`. A tapped quick reply
        whose payload has no route is matched by the text on it. Registering the same text,
        payload or the route without conditions again replaces the earlier handler.
        """
        compiled = re.compile(pattern, re.IGNORECASE) if pattern is not None else None
        if text is not None and not text.strip():
            raise ValueError("on_message(text=...) needs some text")

        def register(handler: Handler) -> Handler:
            if quick_reply is not None:
                self._quick_replies[quick_reply] = handler
            if text is not None:
                self._texts[_normalized(text)] = handler
            if compiled is not None:
                self._patterns.append((compiled, handler))
            if quick_reply is None and text is None and compiled is None:
                self._any_message = handler
            return handler

        return register

    def on_postback(self, payload: str) -> Callable[[Handler], Handler]:
        """Handle a postback (button, Get Started, menu item) with this exact payload
        (case matters). Registering a payload again replaces its handler."""

        def register(handler: Handler) -> Handler:
            self._postbacks[payload] = handler
            return handler

        return register

    def fallback(self, handler: Handler) -> Handler:
        """Handle any message or postback no other route took. Registering another fallback
        replaces it."""
        self._fallback = handler
        return handler

    def on_account_linking(self, handler: Handler) -> Handler:
        """Called after an ``account_linking`` webhook: ``ctx.event.account_linking.status`` is
        ``"linked"`` (the link is confirmed and ``ctx.grant`` active; runs just before the
        :meth:`on_login` handlers) or ``"unlinked"`` (the grant is already revoked and the
        goodbye in ``prompts.unlinked`` sent, if there was a grant). The authorization code is
        not passed on: botperms has used it up. A ``linked`` webhook whose code botperms
        refuses calls nothing. Several handlers run in the order they were registered."""
        self._on_account_linking.append(handler)
        return handler

    def on_login(self, handler: LoginHandler) -> LoginHandler:
        """Called after a person finished Facebook Login (or account linking), with the scopes
        they declined. ``ctx.pending_intent`` is the request that waited for this login, if
        any: the framework replays it after these handlers (or re-asks for what was declined),
        so a handler may want to say less then. ``ctx.event`` is None after a web login and the
        ``linked`` event after account linking. Several handlers run in the order they were
        registered."""
        self._on_login.append(handler)
        return handler

    def on_login_failed(self, handler: FailureHandler) -> FailureHandler:
        """Called when a login did not complete, with the reason code, a string such as
        ``"access_denied"`` (the person pressed Cancel), ``"ticket_expired"`` or
        ``"state_expired"`` (see ``botperms.flows.FailureReason``). ``ctx.event`` is None and
        ``ctx.pending_intent`` the request waiting for the login, if any; after
        ``"access_denied"`` botperms drops that request once these handlers have run."""
        self._on_login_failed.append(handler)
        return handler

    # -- dispatch -------------------------------------------------------------------------
    def route(self, event: MessagingEvent) -> Handler | None:
        """The handler for a message or postback; echoes, deliveries, reads and other events
        get none (they are ignored; account linking has its own handlers)."""
        if event.kind == "postback":
            payload = event.postback.payload if event.postback else None
            return self._postbacks.get(payload or "") or self._fallback
        if event.kind != "message" or event.message is None:
            return None
        message = event.message
        if message.quick_reply is not None:
            handler = self._quick_replies.get(message.quick_reply.payload)
            if handler is not None:
                return handler
        body = message.text or ""
        exact = self._texts.get(_normalized(body)) if body.strip() else None
        if exact is not None:
            return exact
        for compiled, handler in self._patterns:
            if compiled.search(body.strip()):
                return handler
        return self._any_message or self._fallback

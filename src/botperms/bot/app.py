"""``Bot``: the handlers a bot author registers, and which one an event reaches."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import TYPE_CHECKING, overload

from botperms.bot.context import Context, Handler
from botperms.bot.prompts import Prompts
from botperms.bot.registration import (
    ARGUMENTS,
    RegistrationError,
    check_handler,
    check_payload,
    unknown_decorator,
)
from botperms.messenger import MessagingEvent

# Inbox events botperms makes itself (login outcomes, replays) carry their data under this key;
# the webhook drops it from anything Facebook sends, so it cannot be forged from outside.
INTERNAL_FIELD = "botperms"

LoginHandler = Callable[[Context, tuple[str, ...]], Awaitable[None]]
FailureHandler = Callable[[Context, str], Awaitable[None]]
ErrorHandler = Callable[[Context, BaseException], Awaitable[None]]


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
    _quick_replies: dict[str, Handler] = field(default_factory=dict, repr=False)
    _texts: dict[str, Handler] = field(default_factory=dict, repr=False)
    _patterns: list[tuple[re.Pattern[str], Handler]] = field(default_factory=list, repr=False)
    _any_message: Handler | None = field(default=None, repr=False)
    _postbacks: dict[str, Handler] = field(default_factory=dict, repr=False)
    _fallback: Handler | None = field(default=None, repr=False)
    _on_login: list[LoginHandler] = field(default_factory=list, repr=False)
    _on_login_failed: list[FailureHandler] = field(default_factory=list, repr=False)
    _on_error: list[ErrorHandler] = field(default_factory=list, repr=False)
    _on_account_linking: list[Handler] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.max_reasks < 0:
            raise ValueError("max_reasks must be 0 or more")
        if self.intent_ttl <= timedelta(0):
            raise ValueError("intent_ttl must be positive")

    # -- registration ---------------------------------------------------------------------
    # Every decorator checks the handler when it is applied (async, the arguments botperms
    # passes), so a mistake stops the import at the author's line instead of failing at the
    # first event. See ``botperms.bot.registration``.
    @overload
    def on_message(self, text: Handler, /) -> Handler: ...
    @overload
    def on_message(
        self, text: str | None = None, *, pattern: str | None = None, quick_reply: str | None = None
    ) -> Callable[[Handler], Handler]: ...
    def on_message(
        self,
        text: str | Handler | None = None,
        *,
        pattern: str | None = None,
        quick_reply: str | None = None,
    ) -> Handler | Callable[[Handler], Handler]:
        """Handle a message: one whose text equals ``text`` (ignoring case and surrounding
        whitespace; a run of spaces inside counts as one), one whose text ``pattern`` (a regex,
        searched case-insensitively) is found in, a tapped quick reply carrying the payload
        ``quick_reply``, or — with none of them — any message (stickers and attachments, which
        have no text, included). Several conditions register the handler for each of them.
        ``@bot.on_message`` without parentheses is the same as ``@bot.on_message()``.

        Precedence, whatever the order of registration: a quick reply's exact payload first,
        then exact text, then patterns (in the order they were registered; the first match
        wins), then the route without conditions, then :meth:`fallback`. A tapped quick reply
        whose payload has no route is matched by the text on it. Registering the same text,
        payload or the route without conditions again replaces the earlier handler.
        """
        if callable(text):  # the bare form: unambiguous, it can only mean "any message"
            return self.on_message()(text)
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise RegistrationError(f"@bot.on_message(text={text!r}) needs some text")
        try:
            compiled = re.compile(pattern, re.IGNORECASE) if pattern is not None else None
        except re.error as exc:
            raise RegistrationError(
                f"@bot.on_message(pattern={pattern!r}) is not a regular expression: {exc}"
            ) from None

        def register(handler: Handler) -> Handler:
            check_handler(handler, "on_message")
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
        checked = check_payload(payload)

        def register(handler: Handler) -> Handler:
            check_handler(handler, "on_postback")
            self._postbacks[checked] = handler
            return handler

        return register

    @overload
    def fallback(self, handler: Handler, /) -> Handler: ...
    @overload
    def fallback(self) -> Callable[[Handler], Handler]: ...
    def fallback(self, handler: Handler | None = None) -> Handler | Callable[[Handler], Handler]:
        """Handle any message or postback no other route took. Registering another fallback
        replaces it. ``@bot.fallback`` and ``@bot.fallback()`` are the same."""

        def register(handler: Handler) -> Handler:
            check_handler(handler, "fallback")
            self._fallback = handler
            return handler

        return register if handler is None else register(handler)

    @overload
    def on_account_linking(self, handler: Handler, /) -> Handler: ...
    @overload
    def on_account_linking(self) -> Callable[[Handler], Handler]: ...
    def on_account_linking(
        self, handler: Handler | None = None
    ) -> Handler | Callable[[Handler], Handler]:
        """Called after an ``account_linking`` webhook: ``ctx.event.account_linking.status`` is
        ``"linked"`` (the link is confirmed and ``ctx.grant`` active; runs just before the
        :meth:`on_login` handlers) or ``"unlinked"`` (the grant is already revoked and the
        goodbye in ``prompts.unlinked`` sent, if there was a grant). The authorization code is
        not passed on: botperms has used it up. A ``linked`` webhook whose code botperms
        refuses calls nothing. Several handlers run in the order they were registered."""

        def register(handler: Handler) -> Handler:
            check_handler(handler, "on_account_linking")
            self._on_account_linking.append(handler)
            return handler

        return register if handler is None else register(handler)

    @overload
    def on_login(self, handler: LoginHandler, /) -> LoginHandler: ...
    @overload
    def on_login(self) -> Callable[[LoginHandler], LoginHandler]: ...
    def on_login(
        self, handler: LoginHandler | None = None
    ) -> LoginHandler | Callable[[LoginHandler], LoginHandler]:
        """Called as ``handler(ctx, declined)`` after a person finished Facebook Login (or
        account linking), ``declined`` being the scopes they declined. ``ctx.pending_intent``
        is the request that waited for this login, if any: the framework replays it after these
        handlers (or re-asks for what was declined), so a handler may want to say less then.
        ``ctx.event`` is None after a web login and the ``linked`` event after account linking.
        Several handlers run in the order they were registered."""

        def register(handler: LoginHandler) -> LoginHandler:
            check_handler(handler, "on_login")
            self._on_login.append(handler)
            return handler

        return register if handler is None else register(handler)

    @overload
    def on_error(self, handler: ErrorHandler, /) -> ErrorHandler: ...
    @overload
    def on_error(self) -> Callable[[ErrorHandler], ErrorHandler]: ...
    def on_error(
        self, handler: ErrorHandler | None = None
    ) -> ErrorHandler | Callable[[ErrorHandler], ErrorHandler]:
        """Called as ``handler(ctx, error)`` once, when an event is given up on (dead-lettered)
        after its handler failed; ``error`` is the last exception. What it sends (an apology,
        say) commits with the dead letter; the failed handler's own replies never go out. It is
        not called for events without a person or in standby. An exception inside it is logged
        and dropped. Several handlers run in the order they were registered."""

        def register(handler: ErrorHandler) -> ErrorHandler:
            check_handler(handler, "on_error")
            self._on_error.append(handler)
            return handler

        return register if handler is None else register(handler)

    @overload
    def on_login_failed(self, handler: FailureHandler, /) -> FailureHandler: ...
    @overload
    def on_login_failed(self) -> Callable[[FailureHandler], FailureHandler]: ...
    def on_login_failed(
        self, handler: FailureHandler | None = None
    ) -> FailureHandler | Callable[[FailureHandler], FailureHandler]:
        """Called as ``handler(ctx, reason)`` when a login did not complete, ``reason`` being a
        code such as ``"access_denied"`` (the person pressed Cancel), ``"ticket_expired"`` or
        ``"state_expired"`` (see ``botperms.flows.FailureReason``). ``ctx.event`` is None and
        ``ctx.pending_intent`` the request waiting for the login, if any; after
        ``"access_denied"`` botperms drops that request once these handlers have run."""

        def register(handler: FailureHandler) -> FailureHandler:
            check_handler(handler, "on_login_failed")
            self._on_login_failed.append(handler)
            return handler

        return register if handler is None else register(handler)

    if not TYPE_CHECKING:  # hidden from mypy, which must still flag bot.on_mesage itself

        def __getattr__(self, name: str) -> object:
            # Only called when normal lookup failed: a typo such as @bot.on_mesage.
            if name.startswith("_"):
                raise AttributeError(name)
            public = [n for n in dir(type(self)) if not n.startswith("_")]
            decorators = [n for n in public if n in ARGUMENTS]
            others = [n for n in public if n not in ARGUMENTS] + [
                f.name for f in fields(self) if not f.name.startswith("_")
            ]
            raise unknown_decorator(name, decorators, others)

    def registered(self) -> list[tuple[str, str, Handler]]:
        """Every message and postback route as ``(kind, key, handler)``: kinds ``"text"``,
        ``"pattern"``, ``"quick_reply"``, ``"postback"``, ``"any"`` and ``"fallback"`` (the
        last two with an empty key). The demo reads it to describe the bot."""
        routes: list[tuple[str, str, Handler]] = [
            *(("quick_reply", key, h) for key, h in self._quick_replies.items()),
            *(("text", key, h) for key, h in self._texts.items()),
            *(("pattern", compiled.pattern, h) for compiled, h in self._patterns),
            *(("postback", key, h) for key, h in self._postbacks.items()),
        ]
        if self._any_message is not None:
            routes.append(("any", "", self._any_message))
        if self._fallback is not None:
            routes.append(("fallback", "", self._fallback))
        return routes

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

"""The framework's moments a bot (or router) can listen to: a finished login, a failed one, an
account link, an event given up on. Mixed into ``Routes``; unlike routes, every listener of a
moment runs (a bot's before its routers', in the order registered), except ``on_error``, whose
handlers are looked up from the router whose handler failed (``botperms.bot.table``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

from botperms.bot.context import Context, Handler
from botperms.bot.registration import check_handler
from botperms.failures import FailureReason

LoginHandler = Callable[[Context, tuple[str, ...]], Awaitable[None]]
FailureHandler = Callable[[Context, FailureReason], Awaitable[None]]
ErrorHandler = Callable[[Context, BaseException], Awaitable[None]]
H = TypeVar("H")


class Moments:
    """``on_login``, ``on_login_failed``, ``on_account_linking`` and ``on_error``."""

    _label = "bot"
    _on_login: list[LoginHandler]
    _on_login_failed: list[FailureHandler]
    _on_error: list[ErrorHandler]
    _on_account_linking: list[Handler]
    _on_standby: list[Handler]

    def _changed(self) -> None:
        raise NotImplementedError

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
        goodbye in ``prompts.unlinked`` sent, if there was a grant). The authorization_code is
        not passed on: botperms has used it up. A ``linked`` webhook whose code botperms
        refuses calls nothing. Several handlers run in the order they were registered (a
        bot's before its routers')."""
        return self._listener(self._on_account_linking, "on_account_linking", handler)

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
        Several handlers run in the order they were registered (a bot's before its routers')."""
        return self._listener(self._on_login, "on_login", handler)

    @overload
    def on_login_failed(self, handler: FailureHandler, /) -> FailureHandler: ...
    @overload
    def on_login_failed(self) -> Callable[[FailureHandler], FailureHandler]: ...
    def on_login_failed(
        self, handler: FailureHandler | None = None
    ) -> FailureHandler | Callable[[FailureHandler], FailureHandler]:
        """Called as ``handler(ctx, reason)`` when a login did not complete, ``reason`` being
        a :class:`~botperms.FailureReason` such as ``FailureReason.ACCESS_DENIED`` (the person
        pressed Cancel), ``TICKET_EXPIRED`` or ``STATE_EXPIRED``. ``ctx.event`` is None and
        ``ctx.pending_intent`` the request waiting for the login, if any; after
        ``ACCESS_DENIED`` botperms drops that request once these handlers have run."""
        return self._listener(self._on_login_failed, "on_login_failed", handler)

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
        and dropped. Several handlers run in the order they were registered.

        Which ones run: those of the router that registered the failed handler; a router
        without any hands the error to the router (or bot) that included it. So one apology
        goes out, never one per router."""
        return self._listener(self._on_error, "on_error", handler)

    @overload
    def on_standby(self, handler: Handler, /) -> Handler: ...
    @overload
    def on_standby(self) -> Callable[[Handler], Handler]: ...
    def on_standby(self, handler: Handler | None = None) -> Handler | Callable[[Handler], Handler]:
        """Called for each event of a conversation another app owns (handover: the Page
        Inbox, say), which no other handler sees: the person's messages and postbacks, the
        other app's message echoes (``ctx.event.kind == "echo"``). It may read them and take
        the conversation back (``ctx.take_thread_control()``); it may reply only after taking
        it, or ``StandbyReplyError`` is raised. Several handlers run in the order registered
        (a bot's before its routers'). See docs/handover.md."""
        return self._listener(self._on_standby, "on_standby", handler)

    def _listener(self, into: list[H], kind: str, handler: H | None) -> H | Callable[[H], H]:
        def register(handler: H) -> H:
            check_handler(handler, kind, self._label)
            into.append(handler)
            self._changed()
            return handler

        return register if handler is None else register(handler)

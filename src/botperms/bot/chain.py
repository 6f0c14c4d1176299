"""Running what a bot registered: filters, middleware chains, and naming the culprit when
something escapes (the worker's log line and ``on_error`` need to know whose code failed)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Sequence

from botperms.bot.context import Context
from botperms.bot.route import Middleware, Next, Route
from botperms.bot.routing import Routes

# Set on an exception that escaped a handler, so the worker's log line can name the handler.
_HANDLER_ATTRIBUTE = "__botperms_handler__"
# ... and the router (or bot) that registered it, whose on_error handlers then run.
_OWNER_ATTRIBUTE = "__botperms_owner__"


def handler_name(exc: BaseException) -> str | None:
    """The qualified name of the handler ``exc`` escaped from, if it came from one."""
    name = getattr(exc, _HANDLER_ATTRIBUTE, None)
    return name if isinstance(name, str) else None


def owner_of(exc: BaseException) -> Routes | None:
    """The bot or router whose handler, filter or middleware ``exc`` escaped from."""
    owner = getattr(exc, _OWNER_ATTRIBUTE, None)
    return owner if isinstance(owner, Routes) else None


def blame(exc: BaseException, culprit: object, owner: Routes | None = None) -> None:
    """Mark ``exc`` with the innermost code it escaped from (an outer layer keeps that)."""
    if handler_name(exc) is None:
        name = getattr(culprit, "__qualname__", None) or repr(culprit)
        module = getattr(culprit, "__module__", None)
        setattr(exc, _HANDLER_ATTRIBUTE, f"{module}.{name}" if module else name)
    if owner is not None and owner_of(exc) is None:
        setattr(exc, _OWNER_ATTRIBUTE, owner)


async def guarded(call: Awaitable[None], handler: object, owner: Routes | None = None) -> None:
    try:
        await call
    except Exception as exc:
        blame(exc, handler, owner)
        raise


async def passes(route: Route, ctx: Context) -> bool:
    """Whether every filter of ``route`` accepts ``ctx`` (sync or async filters)."""
    for check in route.filters:
        try:
            verdict = check(ctx)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception as exc:
            blame(exc, check, route.owner)
            raise
        if not verdict:
            return False
    return True


async def first_passing(candidates: Sequence[Route], ctx: Context) -> Route | None:
    """The first of ``candidates`` whose filters all pass."""
    for route in candidates:
        if not route.filters or await passes(route, ctx):
            return route
    return None


def compose(middleware: Sequence[Middleware], terminal: Next, owner: Routes) -> Next:
    """``terminal`` wrapped in ``middleware``, the first one outermost. Built once per route
    (or once for the bot), not per event."""
    call = terminal
    for layer in reversed(middleware):
        call = _link(layer, call, owner)
    return call


def _link(layer: Middleware, call_next: Next, owner: Routes) -> Next:
    async def step(ctx: Context) -> None:
        await guarded(layer(ctx, call_next), layer, owner)

    return step

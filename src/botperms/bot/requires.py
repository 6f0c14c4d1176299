"""``@requires``: a handler names the Facebook permissions it needs; the framework does the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botperms.bot.registration import check_scopes

# Set on the handler function itself (not on a wrapper), so the decorator works above or
# below ``@bot.on_message``/``@bot.on_postback``: the dispatcher reads it from whatever it calls.
_ATTRIBUTE = "__botperms_requirement__"

F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True)
class Requirement:
    """The scopes a handler needs, and the text of the login prompt it shows without them."""

    scopes: tuple[str, ...]
    prompt: str | None = None


def requires(*scopes: str, prompt: str | None = None) -> Callable[[F], F]:
    """Run the decorated handler only for people who granted every one of ``scopes``.

    For anyone else the framework instead keeps the event as a pending intent (for
    ``Bot.intent_ttl``), sends the login prompt in the configured flow (``prompt`` is its text;
    ``Bot.prompts.login`` by default) and, once the grant arrives, replays the event to the same
    handler exactly once, now with ``ctx.grant`` holding the scopes. If the person declines a
    scope they get ``Bot.prompts.declined`` and are asked again with ``auth_type=rerequest``,
    at most ``Bot.max_reasks`` times; after that the intent is dropped and
    ``Bot.prompts.gave_up`` sent.

    An :class:`~botperms.graph.InvalidTokenError` escaping the handler (Facebook no longer
    accepts the person's token) is treated the same way: the grant is marked expired, the person
    asked to log in again, and the event replayed afterwards.

    Stacking ``@requires`` adds scopes; the outermost ``prompt`` given wins. It guards message
    and postback handlers (the fallback included); on ``on_login``, ``on_login_failed`` and
    ``on_account_linking`` handlers it has no effect.
    """
    # Checked against Facebook's documented names here, not when the Login dialog refuses them.
    scopes = check_scopes(scopes)

    def mark(handler: F) -> F:
        current = requirement_of(handler)
        merged = current.scopes if current else ()
        merged += tuple(scope for scope in dict.fromkeys(scopes) if scope not in merged)
        text = prompt if prompt is not None else (current.prompt if current else None)
        setattr(handler, _ATTRIBUTE, Requirement(merged, text))
        return handler

    return mark


def requirement_of(handler: object) -> Requirement | None:
    """What ``@requires`` recorded on ``handler``, or None for a handler that needs nothing."""
    requirement = getattr(handler, _ATTRIBUTE, None)
    return requirement if isinstance(requirement, Requirement) else None

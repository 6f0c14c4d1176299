"""Mistakes in a bot's handlers, caught when the module is imported and told at the author's line.

Without these checks a plain ``def`` handler, a missing argument or a bare ``@bot.on_postback``
is accepted at start and fails at the first event (or silently registers nothing); a mistyped
permission fails only in Facebook's Login dialog.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import sys
from collections.abc import Sequence
from difflib import get_close_matches
from pathlib import Path
from types import FrameType

from botperms.messenger.events import EVENT_KINDS
from botperms.permissions import unknown_permission

# Frames in these files are botperms' own; the author's line is the first frame outside them.
_INTERNAL = (str(Path(__file__).parent) + "/", str(Path(unknown_permission.__code__.co_filename)))

# What botperms passes to each kind of handler (the dispatcher calls them positionally).
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "on_message": ("ctx",),
    "on_postback": ("ctx",),
    "fallback": ("ctx",),
    "on_account_linking": ("ctx",),
    "on_login": ("ctx", "declined"),
    "on_login_failed": ("ctx", "reason"),
    "on_error": ("ctx", "error"),
    "on_event": ("ctx",),
    "on_standby": ("ctx",),
    "middleware": ("ctx", "call_next"),
}
# ``@bot.on_event`` kinds: every webhook kind but those with decorators of their own.
_OWN_DECORATOR = ("message", "postback", "account_linking")
EVENT_HANDLER_KINDS = tuple(kind for kind in (*EVENT_KINDS, "echo") if kind not in _OWN_DECORATOR)
_BOOL = re.compile(r"\bbool\b")


class RegistrationError(ValueError):
    """A bot's handlers are registered wrongly; the message starts with the file and line.

    A ValueError, as the checks it replaces raised."""

    def __init__(self, problem: str, frame: FrameType | None = None) -> None:
        frame = frame or author_frame()
        self.path = frame.f_code.co_filename if frame is not None else "<unknown>"
        self.lineno = frame.f_lineno if frame is not None else 0
        self.filename = display_path(self.path)
        self.problem = problem
        super().__init__(f"{self.filename}, line {self.lineno}: {problem}")


class UnknownDecorator(RegistrationError, AttributeError):
    """``bot.on_mesage``: still an AttributeError, so ``hasattr`` and ``getattr`` work."""


def author_frame() -> FrameType | None:
    """The innermost caller outside botperms' handler API: the line the author wrote."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame = frame.f_back  # type: ignore[assignment]
    return frame


def display_path(filename: str) -> str:
    """A path as the author knows it: relative to the folder botperms runs from, if inside."""
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return filename


def _is_async(handler: object) -> bool:
    if inspect.iscoroutinefunction(handler):
        return True
    # An object whose class has ``async def __call__`` (callable() would say nothing of that).
    call = getattr(type(handler), "__call__", None)  # noqa: B004
    # asyncio's check also recognises AsyncMock, which tests register as handlers.
    return inspect.iscoroutinefunction(call) or asyncio.iscoroutinefunction(handler)


def _name(handler: object) -> str:
    return str(getattr(handler, "__name__", None) or type(handler).__name__)


def check_handler(handler: object, kind: str, label: str = "bot") -> None:
    """Raise :class:`RegistrationError` unless ``handler`` is what ``@bot.<kind>`` calls."""
    arguments = ARGUMENTS[kind]
    shape = ", ".join(arguments)
    name = _name(handler)
    if not callable(handler):
        raise RegistrationError(f"@{label}.{kind} decorates {handler!r}, which is not a function")
    if not _is_async(handler):
        raise RegistrationError(
            f"handler {name} is a plain function; botperms awaits its handlers, so write "
            f"`async def {name}({shape})`"
        )
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return  # a builtin or C callable: nothing to read, let the first call tell
    try:
        signature.bind(*arguments)
    except TypeError:
        raise RegistrationError(
            f"@{label}.{kind} handler {name} takes ({_parameters(signature)}), but botperms "
            f"calls it with ({shape}); write `async def {name}({shape})`"
        ) from None


def _parameters(signature: inspect.Signature) -> str:
    """``ctx, *, extra=1``: the parameters as written, without annotations."""
    empty = inspect.Parameter.empty
    bare = [parameter.replace(annotation=empty) for parameter in signature.parameters.values()]
    return str(signature.replace(parameters=bare, return_annotation=empty))[1:-1]


def check_payload(payload: object, label: str = "bot") -> str:
    """The postback payload ``@bot.on_postback(payload)`` was given, or why it is no payload."""
    if callable(payload):
        raise RegistrationError(
            f"@{label}.on_postback needs the payload it answers, with parentheses: "
            f'@{label}.on_postback("GET_STARTED")'
        )
    if not isinstance(payload, str) or not payload:
        raise RegistrationError(
            f"@{label}.on_postback({payload!r}): the payload must be a non-empty string, "
            f'as in @{label}.on_postback("GET_STARTED")'
        )
    return payload


def check_event_kind(kind: object, label: str = "bot") -> str:
    """The kind ``@bot.on_event(kind)`` was given, or what it should have been."""
    if callable(kind):
        raise RegistrationError(
            f"@{label}.on_event needs the kind of event, with parentheses: "
            f'@{label}.on_event("reaction")'
        )
    if kind in _OWN_DECORATOR:
        decorator = {"message": "on_message", "postback": "on_postback"}.get(
            str(kind), "on_account_linking"
        )
        raise RegistrationError(f"@{label}.on_event({kind!r}): use @{label}.{decorator}")
    if not isinstance(kind, str) or kind not in EVENT_HANDLER_KINDS:
        close = get_close_matches(str(kind), EVENT_HANDLER_KINDS, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RegistrationError(
            f"@{label}.on_event({kind!r}) is not a webhook event kind{hint}; the kinds are "
            + ", ".join(EVENT_HANDLER_KINDS)
        )
    return kind


def check_bare_handler(handler: object, label: str = "bot") -> None:
    """``@bot.on_message`` without parentheses on ``handler``: the one shape that a filter
    passed alone (``@bot.on_message(is_admin)``) also has, so a plain function is told both
    ways out."""
    if callable(handler) and not _is_async(handler):
        name = _name(handler)
        raise RegistrationError(
            f"@{label}.on_message got the plain function {name}: a handler must be "
            f"`async def {name}(ctx)`; a filter passed alone must be annotated `-> bool` "
            f"(or go by filters=[{name}])"
        )


def looks_like_filter(candidate: object) -> bool:
    """Whether the one positional argument of ``@bot.on_message(x)`` is a filter rather than
    the handler of the bare ``@bot.on_message``: a lambda (never async, so never a handler)
    or a callable annotated to return ``bool``."""
    if getattr(candidate, "__name__", None) == "<lambda>":
        return True
    try:
        returns = inspect.signature(candidate).return_annotation  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return returns is bool or (isinstance(returns, str) and bool(_BOOL.search(returns)))


def check_filters(filters: Sequence[object], kind: str, label: str = "bot") -> tuple[object, ...]:
    """The filters of a route, each a callable taking ``ctx``."""
    for candidate in filters:
        if isinstance(candidate, str):
            raise RegistrationError(
                f"@{label}.{kind}({candidate!r}): conditions go by name, as in "
                f"text={candidate!r}; positional arguments are filters"
            )
        if not callable(candidate):
            raise RegistrationError(
                f"@{label}.{kind}: the filter {candidate!r} is not a callable taking ctx"
            )
        try:
            inspect.signature(candidate).bind("ctx")
        except TypeError:
            raise RegistrationError(
                f"@{label}.{kind}: the filter {_name(candidate)} must take one argument, ctx"
            ) from None
        except ValueError:
            pass  # a builtin without a signature: let the first call tell
    return tuple(filters)


def check_scopes(scopes: tuple[object, ...]) -> tuple[str, ...]:
    """The permission names given to ``@requires``, each one Facebook documents."""
    if not scopes or any(callable(scope) for scope in scopes):
        raise RegistrationError(
            '@requires needs the permissions the handler uses: @requires("user_likes")'
        )
    names: list[str] = []
    for scope in scopes:
        if not isinstance(scope, str):
            raise RegistrationError(f"@requires({scope!r}): permissions are strings")
        problem = unknown_permission(scope)
        if problem is not None:
            raise RegistrationError(f"@requires: {problem}")
        names.append(scope)
    return tuple(names)


def unknown_decorator(
    name: str, decorators: list[str], others: list[str], owner: str = "Bot"
) -> UnknownDecorator:
    """What ``bot.<name>`` should have been, raised at the line that used it."""
    if name == "requires":
        return UnknownDecorator(
            f"requires is not a {owner} decorator: write `from botperms import requires` and "
            '@requires("user_likes") under @bot.on_message(...)'
        )
    close = get_close_matches(name, decorators, n=1, cutoff=0.6)
    if close:
        return UnknownDecorator(f"{owner} has no decorator {name} (did you mean {close[0]}?)")
    close = get_close_matches(name, others, n=1, cutoff=0.6)
    if close:
        return UnknownDecorator(f"{owner} has no attribute {name} (did you mean {close[0]}?)")
    return UnknownDecorator(
        f"{owner} has no decorator {name}; its decorators are " + ", ".join(decorators)
    )

"""Mistakes in a bot's handlers, caught when the module is imported and told at the author's line.

Without these checks a plain ``def`` handler, a missing argument or a bare ``@bot.on_postback``
is accepted at start and fails at the first event (or silently registers nothing); a mistyped
permission fails only in Facebook's Login dialog.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from difflib import get_close_matches
from pathlib import Path
from types import FrameType

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
}


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


def check_handler(handler: object, kind: str) -> None:
    """Raise :class:`RegistrationError` unless ``handler`` is what ``@bot.<kind>`` calls."""
    arguments = ARGUMENTS[kind]
    shape = ", ".join(arguments)
    name = _name(handler)
    if not callable(handler):
        raise RegistrationError(f"@bot.{kind} decorates {handler!r}, which is not a function")
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
            f"@bot.{kind} handler {name} takes ({_parameters(signature)}), but botperms calls it "
            f"with ({shape}); write `async def {name}({shape})`"
        ) from None


def _parameters(signature: inspect.Signature) -> str:
    """``ctx, *, extra=1``: the parameters as written, without annotations."""
    empty = inspect.Parameter.empty
    bare = [parameter.replace(annotation=empty) for parameter in signature.parameters.values()]
    return str(signature.replace(parameters=bare, return_annotation=empty))[1:-1]


def check_payload(payload: object) -> str:
    """The postback payload ``@bot.on_postback(payload)`` was given, or why it is no payload."""
    if callable(payload):
        raise RegistrationError(
            "@bot.on_postback needs the payload it answers, with parentheses: "
            '@bot.on_postback("GET_STARTED")'
        )
    if not isinstance(payload, str) or not payload:
        raise RegistrationError(
            f"@bot.on_postback({payload!r}): the payload must be a non-empty string, "
            'as in @bot.on_postback("GET_STARTED")'
        )
    return payload


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


def unknown_decorator(name: str, decorators: list[str], others: list[str]) -> UnknownDecorator:
    """What ``bot.<name>`` should have been, raised at the line that used it."""
    if name == "requires":
        return UnknownDecorator(
            "requires is not a Bot decorator: write `from botperms import requires` and "
            '@requires("user_likes") under @bot.on_message(...)'
        )
    close = get_close_matches(name, decorators, n=1, cutoff=0.6)
    if close:
        return UnknownDecorator(f"Bot has no decorator {name} (did you mean {close[0]}?)")
    close = get_close_matches(name, others, n=1, cutoff=0.6)
    if close:
        return UnknownDecorator(f"Bot has no attribute {name} (did you mean {close[0]}?)")
    return UnknownDecorator(
        f"Bot has no decorator {name}; its decorators are " + ", ".join(decorators)
    )

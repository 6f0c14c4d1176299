"""What every command shares: the console, the settings and the author's bot."""

from __future__ import annotations

import gc
import importlib
import linecache
import os
import sys
import sysconfig
import traceback
from pathlib import Path
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from botperms.bot import Bot
from botperms.bot.registration import RegistrationError, display_path
from botperms.config import Settings, describe_error

console = Console(stderr=True)

# Frames in these folders are not the author's: the error is told at the author's line.
_NOT_THE_AUTHORS = tuple(
    str(Path(folder).resolve()) + os.sep
    for folder in (
        Path(__file__).parents[1],  # botperms
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
    )
)


def load_settings() -> Settings:
    """Settings from the environment, or one readable line per problem and exit code 2."""
    try:
        return Settings()  # filled from the environment
    except ValidationError as exc:
        console.print("[bold red]botperms cannot start: the configuration is incomplete.[/]")
        console.print(describe_error(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def load_bot(target: str | None) -> Bot:
    """``module:attribute`` → the Bot (as uvicorn takes an app); exit code 2 with the file and
    line of the author's mistake when the module cannot be imported."""
    if not target:
        from botperms.examples.likes_bot import bot

        return bot
    module_name, _, attribute = target.partition(":")
    attribute = attribute or "bot"
    # As with uvicorn, the bot author's module is found in the folder botperms runs from (a
    # console script's sys.path does not include it).
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name + ".").startswith(exc.name + "."):
            _cannot_load(target, *_where_raised(exc))  # an import inside the author's code
        _cannot_load(
            target,
            f"there is no module {module_name!r} in {os.getcwd()} (the part before ':' is a "
            f"Python module: bot:bot is the name bot in bot.py)",
        )
    except RegistrationError as exc:
        _cannot_load(target, str(exc), exc.path, exc.lineno)
    except Exception as exc:
        _cannot_load(target, *_where_raised(exc))
    found = getattr(module, attribute, None)
    if found is None:
        where = display_path(module.__file__ or module_name)
        _cannot_load(
            target,
            f"{where} has no name {attribute!r} (the part after ':' is the name your Bot is "
            f"given there: bot = Bot() makes it {module_name}:bot)",
        )
    if not isinstance(found, Bot):
        _cannot_load(target, f"{target} is a {type(found).__name__}, not a botperms Bot")
    return found


def _where_raised(exc: BaseException) -> tuple[str, str | None, int]:
    """The error as ``file, line N: Type: message`` at the innermost line the author wrote."""
    what = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SyntaxError) and exc.filename:
        what = f"{type(exc).__name__}: {exc.msg}"
        path, lineno = exc.filename, exc.lineno or 0
    else:
        frames = [
            frame
            for frame in traceback.extract_tb(exc.__traceback__)
            if not frame.filename.startswith("<")
            and not str(Path(frame.filename).resolve()).startswith(_NOT_THE_AUTHORS)
        ]
        if not frames:
            return what, None, 0
        path, lineno = frames[-1].filename, frames[-1].lineno or 0
    return f"{display_path(path)}, line {lineno}: {what}", path, lineno


def _cannot_load(target: str, problem: str, path: str | None = None, lineno: int = 0) -> NoReturn:
    console.print(f"[bold red]Cannot load bot {escape(target)!r}:[/]")
    console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
    source = linecache.getline(path, lineno).strip() if path else ""
    if source:
        console.print(f"      {source}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


# Allocations between two collections of the youngest generation (Python's default: 700).
# A collection cost about the same at either, so this cut their CPU by 5/6 in `make bench`.
GC_YOUNG_THRESHOLD = 10_000


def settle_garbage_collection() -> None:
    """For a server process, once its modules and object graph exist: leave them out of
    every later collection, and collect the youngest objects less often. Under a campaign's
    load a full collection walked those ~130,000 objects in 60-100 ms while all other work
    stopped, and that was the acknowledgement p99 (docs/performance.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD)

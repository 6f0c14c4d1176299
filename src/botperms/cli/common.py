"""What every command shares: the console, the settings and the author's bot."""

from __future__ import annotations

import importlib
import os
import sys

import typer
from pydantic import ValidationError
from rich.console import Console

from botperms.config import Settings, describe_error

console = Console(stderr=True)


def load_settings() -> Settings:
    """Settings from the environment, or one readable line per problem and exit code 2."""
    try:
        return Settings()  # filled from the environment
    except ValidationError as exc:
        console.print("[bold red]botperms cannot start: the configuration is incomplete.[/]")
        console.print(describe_error(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def load_bot(target: str | None) -> object:
    """``module:attribute`` → the Bot object (as uvicorn takes an app)."""
    if not target:
        from botperms.examples.likes_bot import bot

        return bot
    module_name, _, attribute = target.partition(":")
    # As with uvicorn, the bot author's module is found in the folder botperms runs from (a
    # console script's sys.path does not include it).
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute or "bot")
    except (ImportError, AttributeError) as exc:
        console.print(f"[bold red]Cannot load bot {target!r}:[/] {exc}")
        raise typer.Exit(2) from None

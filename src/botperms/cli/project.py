"""``botperms new`` and ``botperms keygen``: start a project, make a key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from botperms.cli.common import console


def new(
    name: Annotated[
        Path,
        typer.Argument(
            metavar="NAME", help="Folder for the new project (created; must be new or empty)."
        ),
    ],
) -> None:
    """Start a bot project of your own in a new folder.

    It gets bot.py (handlers), messenger_profile.toml (Get Started, greeting, menu),
    .env.example (settings for fakebook) and a README that says how to run it on your machine.
    """
    from botperms.scaffold import ScaffoldError, create_project

    try:
        written = create_project(name)
    except (ScaffoldError, OSError) as exc:
        console.print(f"[bold red]Cannot create the project:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    for path in written:
        console.print(f"  created {escape(str(path))}")
    console.print(
        f"[green]Your bot is in {escape(str(name))}/.[/] Next: cd {escape(str(name))} and "
        "follow README.md (it runs against fakebook, no Facebook account needed)."
    )


def keygen() -> None:
    """Print a new Fernet key for BOTPERMS_TOKEN_KEYS (put it first to rotate)."""
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())

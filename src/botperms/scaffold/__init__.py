"""``botperms new NAME``: a folder with a small bot of one's own, ready to run against fakebook.

The files come from ``templates/`` (package data); ``__BOT_NAME__`` in them becomes the
project's name. Nothing is written into a folder that already has files in it.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

# Template file → the file it becomes in the new project. Templates are not named like the
# files they become so that tools (ruff, mypy, pytest, git) do not treat them as live code.
FILES = {
    "bot.py.tmpl": "bot.py",
    "test_bot.py.tmpl": "test_bot.py",
    "messenger_profile.toml": "messenger_profile.toml",
    "env.example": ".env.example",
    "gitignore": ".gitignore",
    "README.md.tmpl": "README.md",
}
PLACEHOLDER = "__BOT_NAME__"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ScaffoldError(ValueError):
    """The project cannot be created where asked (the message says why)."""


def template(name: str) -> str:
    return (resources.files(__package__) / "templates" / name).read_text(encoding="utf-8")


def create_project(folder: Path) -> list[Path]:
    """Write the project into ``folder`` (created if missing); return the files written."""
    name = folder.name
    if not _NAME.match(name):
        raise ScaffoldError(
            f"{name!r} is not a usable project name (letters, digits, '-', '_' and '.', "
            "starting with a letter or digit)"
        )
    if folder.exists():
        if not folder.is_dir():
            raise ScaffoldError(f"{folder} exists and is not a folder")
        if any(folder.iterdir()):
            raise ScaffoldError(f"{folder} already has files in it; choose a new or empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for source, target in FILES.items():
        path = folder / target
        path.write_text(template(source).replace(PLACEHOLDER, name), encoding="utf-8")
        written.append(path)
    return written

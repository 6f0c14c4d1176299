"""``--reload``'s supervisor with a real child process and real file changes."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from watchfiles import Change

from botperms.cli.reload import BotFiles, describe, supervise

CHILD = """
import os, sys, time
from version import VERSION
with open("started.log", "a") as log:
    log.write(f"{VERSION} {os.getpid()}\\n")
if VERSION == "broken":
    sys.exit(3)
time.sleep(600)
"""


async def until(probe: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def started(folder: Path) -> list[tuple[str, int]]:
    log = folder / "started.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [(version, int(pid)) for version, pid in (line.split() for line in lines)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not reaped yet is a zombie: gone for our purpose.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


async def test_an_edit_restarts_the_child_and_a_crash_waits_for_the_next_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "version.py").write_text('VERSION = "one"\n')
    output = io.StringIO()
    console = Console(file=output, width=200)
    monkeypatch.chdir(tmp_path)  # the child writes started.log where it runs
    supervising = asyncio.create_task(supervise([sys.executable, "child.py"], [tmp_path], console))
    try:
        await until(lambda: len(started(tmp_path)) == 1, "the first start")
        first_pid = started(tmp_path)[0][1]

        (tmp_path / "version.py").write_text('VERSION = "broken"\n')
        await until(lambda: "The bot stopped (exit code 3)" in output.getvalue(), "the crash")
        assert not alive(first_pid)  # stopped before the new one started
        assert "Reloading the bot: version.py changed." in output.getvalue()

        (tmp_path / "notes.log").write_text("not a bot file\n")  # ignored
        (tmp_path / "version.py").write_text('VERSION = "two"\n')
        await until(lambda: started(tmp_path)[-1][0] == "two", "the start after the fix")
        assert [version for version, _ in started(tmp_path)] == ["one", "broken", "two"]
        last_pid = started(tmp_path)[-1][1]
        assert alive(last_pid)
    finally:
        supervising.cancel()
        await asyncio.gather(supervising, return_exceptions=True)
    assert not alive(last_pid)  # Ctrl-C stops the child too


def test_only_what_a_restart_reads_is_watched(tmp_path: Path) -> None:
    wanted = BotFiles()
    for name in ("bot.py", "messenger_profile.toml", ".env"):
        assert wanted(Change.modified, str(tmp_path / name))
    for name in ("botperms.db", "botperms.db-wal", "fakebook.json", "demo.env", "x.pyc"):
        assert not wanted(Change.modified, str(tmp_path / name))
    assert not wanted(Change.modified, str(tmp_path / ".venv" / "lib.py"))


def test_changes_are_named_relative_to_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    changes = {(Change.modified, str(tmp_path / f"m{n}.py")) for n in range(5)}
    assert describe(changes) == "m0.py, m1.py, m2.py and 2 more"

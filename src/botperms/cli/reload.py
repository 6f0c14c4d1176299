"""``--reload``: the bot runs in a child process, started again whenever its files change.

A child process (rather than re-importing in place) is what ``uvicorn --reload`` does too: the
author's module, and everything it imported, is fresh each time. The parent only watches and
restarts, so whatever else it runs (the demo's fakebook) keeps going, state and all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from watchfiles import Change, DefaultFilter, awatch

# Called once the child is started: (the child, how many times it was restarted before).
Started = Callable[[asyncio.subprocess.Process, int], Awaitable[None]]
STOP_SECONDS = 10.0


class BotFiles(DefaultFilter):
    """What a restart reads again: Python files, TOML (the Messenger Profile) and ``.env``."""

    def __call__(self, change: Change, path: str) -> bool:
        name = os.path.basename(path)
        wanted = name.endswith((".py", ".toml")) or name == ".env"
        return wanted and super().__call__(change, path)


def describe(changes: set[tuple[Change, str]]) -> str:
    names = sorted({_shown(path) for _, path in changes})
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _shown(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


async def supervise(
    command: Sequence[str],
    paths: Sequence[Path],
    console: Console,
    *,
    started: Started | None = None,
    ignore: Sequence[Path] = (),
) -> None:
    """Run ``command``; stop it and run it again after each change under ``paths``. Returns
    on Ctrl-C or SIGTERM, with the child stopped."""
    # Our own handlers: asyncio.run's Ctrl-C handling is absent when the process started with
    # SIGINT ignored (as a child of some shells and test runners), and nothing else here (no
    # uvicorn in this process) would catch the signal.
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None
    signalled: list[int] = []

    def on_signal(number: int) -> None:
        signalled.append(number)
        task.cancel()

    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, on_signal, number)
    try:
        await _supervise(command, paths, console, started, ignore)
    except asyncio.CancelledError:
        if not signalled:
            raise
        task.uncancel()  # a stop we asked for: return normally
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)


async def _supervise(
    command: Sequence[str],
    paths: Sequence[Path],
    console: Console,
    started: Started | None,
    ignore: Sequence[Path],
) -> None:
    stop = asyncio.Event()
    watcher = awatch(*paths, watch_filter=BotFiles(ignore_paths=ignore), stop_event=stop)
    # The watcher starts watching when first awaited: before the child, so that no edit made
    # while it starts is missed. Between two awaits it keeps collecting changes.
    change: asyncio.Future[set[tuple[Change, str]]] = asyncio.ensure_future(anext(watcher))
    await asyncio.sleep(0)
    restarts = 0
    try:
        while True:
            process = await asyncio.create_subprocess_exec(*command)
            try:
                if started is not None:
                    await started(process, restarts)
                exited = asyncio.ensure_future(process.wait())
                either: list[asyncio.Future[Any]] = [exited, change]
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if not change.done():
                    console.print(
                        f"[yellow]The bot stopped (exit code {process.returncode}).[/] "
                        "Save a change to its files to start it again."
                    )
                    exited.cancel()
                changes = await change
            finally:
                await stop_child(process)
            console.print(f"[cyan]Reloading the bot:[/] {describe(changes)} changed.")
            change = asyncio.ensure_future(anext(watcher))
            restarts += 1
    finally:
        stop.set()
        change.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await change


async def stop_child(process: asyncio.subprocess.Process, seconds: float = STOP_SECONDS) -> None:
    """SIGTERM (uvicorn shuts down gracefully), then SIGKILL if it takes too long."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=seconds)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()

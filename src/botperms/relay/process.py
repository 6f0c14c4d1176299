"""The handler process's life, seen from the web process: start it, start it again when it
dies, stop it with the web process. And, seen from the handler process: die with its parent.

The web process holds the database's process lock (worker/process_lock.py) and the handler
process inherits it, so a second ``serve`` on the same file is refused while either runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Sequence

import structlog

log = structlog.get_logger(__name__)

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when ``parent`` dies, even by ``kill -9``: a handler
    process without its web process would hold the database's lock with nobody to serve."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


class HandlerProcess:
    """Runs ``command`` as a child, again after ``restart_delay`` seconds (doubling to
    ``max_delay``) each time it exits unasked."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        restart_delay: float = 0.5,
        max_delay: float = 10.0,
        stop_within: float = 30.0,
    ) -> None:
        self.command = list(command)
        self._pass_fds: tuple[int, ...] = ()
        self.restart_delay = restart_delay
        self.max_delay = max_delay
        self.stop_within = stop_within
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def _spawn(self) -> None:
        self._process = await asyncio.create_subprocess_exec(*self.command, pass_fds=self._pass_fds)
        log.info("handlers.started", pid=self._process.pid)

    async def start(self, *, pass_fds: Sequence[int] = ()) -> None:
        """``pass_fds``: open files the child keeps (the database's lock)."""
        self._pass_fds = tuple(pass_fds)
        await self._spawn()
        self._watch = asyncio.create_task(self._keep_running(), name="relay:handler-process")

    async def _keep_running(self) -> None:
        delay = self.restart_delay
        while True:
            assert self._process is not None
            started = asyncio.get_running_loop().time()
            code = await self._process.wait()
            if self._stopping:
                return
            log.error("handlers.exited", pid=self._process.pid, code=code, restart_in=delay)
            if asyncio.get_running_loop().time() - started > 60:
                delay = self.restart_delay  # it ran a while: this is a new failure
            await asyncio.sleep(delay)
            if self._stopping:
                return
            delay = min(self.max_delay, delay * 2)
            self.restarts += 1
            try:
                await self._spawn()
            except OSError as exc:
                log.error("handlers.start_failed", error=str(exc))
                await asyncio.sleep(delay)

    async def stop(self) -> None:
        """SIGTERM (it finishes what it holds), then SIGKILL after ``stop_within`` s."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self.stop_within)
        except TimeoutError:
            log.error("handlers.kill", pid=process.pid, after=self.stop_within)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

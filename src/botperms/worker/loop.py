"""A background loop that runs one pass at a time, woken early by ``wake()``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


class WakeableLoop:
    def __init__(
        self,
        name: str,
        run_once: Callable[[], Awaitable[bool]],
        idle: float,
        signal: asyncio.Event | None = None,
    ) -> None:
        """``run_once`` returns True when it did work (so the loop goes again at once).
        ``signal``: the event that wakes it, when others must be able to set it before the
        loop exists (otherwise the loop makes its own)."""
        self.name = name
        self._run_once = run_once
        self._idle = idle
        self._wake = signal if signal is not None else asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False  # a loop stopped earlier may be started again
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            busy = False
            try:
                busy = await self._run_once()
            except Exception:
                # One bad pass must not end the loop: the rows stay in the store for the next.
                log.exception("worker.pass_failed", worker=self.name)
            if busy or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle)
            self._wake.clear()

"""A ``botperms worker`` process: the queue engine's worker runs group turns while a sweeper
finds work no job holds (see worker/engine.py). The sweeps double as the worker's health: a
worker whose sweeps keep failing (the database is away) or stopped is not healthy."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog

from botperms.store import Store
from botperms.worker.engine import QueueEngine

log = structlog.get_logger(__name__)


class DistributedWorker:
    def __init__(
        self,
        engine: QueueEngine,
        store: Store,
        *,
        concurrency: int,
        sweep_every: float = 2.0,
        sweep_older_than: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.store = store
        self.concurrency = concurrency
        self.sweep_every = sweep_every
        self.sweep_older_than = timedelta(seconds=sweep_older_than)
        self.name = f"botperms-{socket.gethostname()}-{os.getpid()}"
        self._clock = clock
        self._started: float | None = None
        self._last_sweep: float | None = None
        self._last_error: str | None = None

    async def run(self) -> None:
        """Run jobs and sweeps until cancelled."""
        self._started = self._clock()
        sweeper = asyncio.create_task(self._sweep_forever(), name="queue-sweeper")
        log.info("worker.started", name=self.name, concurrency=self.concurrency)
        try:
            await self.engine.run_worker(concurrency=self.concurrency, name=self.name)
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            self._started = None
            log.info("worker.stopped", name=self.name)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.engine.sweep(self.store, older_than=self.sweep_older_than)
            except Exception as exc:  # the database is away: try again next time
                self._last_error = str(exc) or type(exc).__name__
                log.warning("queue.sweep_failed", error=self._last_error)
            else:
                self._last_sweep, self._last_error = self._clock(), None
            await asyncio.sleep(self.sweep_every)

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while running and its last sweep succeeded within three sweep periods
        (at least 10 s): it reached the database and the queue lately. Called from the
        metrics server's thread; it only reads."""
        now = self._clock()
        allowed = max(3 * self.sweep_every, 10.0)
        if self._started is None:
            return False, {"status": "stopped"}
        since = now - (self._last_sweep if self._last_sweep is not None else self._started)
        report: dict[str, Any] = {"role": "worker", "name": self.name}
        if self._last_sweep is not None:
            report["last_sweep_seconds_ago"] = round(now - self._last_sweep, 1)
        if since <= allowed:
            return True, {"status": "ok", **report}
        return False, {"status": "unhealthy", "error": self._last_error or "no sweep", **report}

"""A ``botperms worker`` process: the queue engine's worker runs conversation turns while a
sweeper finds work no job holds (see worker/engine.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from datetime import timedelta

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
    ) -> None:
        self.engine = engine
        self.store = store
        self.concurrency = concurrency
        self.sweep_every = sweep_every
        self.sweep_older_than = timedelta(seconds=sweep_older_than)
        self.name = f"botperms-{socket.gethostname()}-{os.getpid()}"

    async def run(self) -> None:
        """Run jobs and sweeps until cancelled."""
        sweeper = asyncio.create_task(
            self.engine.sweep_forever(
                self.store, every=self.sweep_every, older_than=self.sweep_older_than
            ),
            name="queue-sweeper",
        )
        log.info("worker.started", name=self.name, concurrency=self.concurrency)
        try:
            await self.engine.run_worker(concurrency=self.concurrency, name=self.name)
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            log.info("worker.stopped", name=self.name)

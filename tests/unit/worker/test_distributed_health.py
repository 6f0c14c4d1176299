"""A worker's health: healthy while it runs and its sweeps reach the database; unhealthy once
they have failed for three sweep periods (at least 10 s), with the error in the report."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from botperms.worker.distributed import DistributedWorker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Engine:
    """A stand-in for the queue engine: sweeps that succeed or fail, and a worker loop that
    runs until cancelled."""

    def __init__(self) -> None:
        self.down = False
        self.sweeps = 0

    async def sweep(self, store: Any, *, older_than: timedelta) -> dict[str, int]:
        self.sweeps += 1
        if self.down:
            raise ConnectionRefusedError("connection refused")
        return {"ended": 0, "deferred": 0}

    async def run_worker(self, *, concurrency: int, name: str) -> None:
        await asyncio.Event().wait()


async def test_health_follows_the_sweeps() -> None:
    clock, engine = Clock(), Engine()
    worker = DistributedWorker(
        engine,  # type: ignore[arg-type]
        store=None,  # type: ignore[arg-type]
        concurrency=1,
        sweep_every=0.01,
        clock=clock,
    )
    assert worker.health() == (False, {"status": "stopped"})
    running = asyncio.create_task(worker.run())
    while engine.sweeps == 0:
        await asyncio.sleep(0.005)
    healthy, report = worker.health()
    assert healthy
    assert report["status"] == "ok"
    assert report["role"] == "worker"
    engine.down = True
    seen = engine.sweeps
    while engine.sweeps < seen + 2:
        await asyncio.sleep(0.005)
    clock.now += 9  # failing, but not for long yet
    assert worker.health()[0] is True
    clock.now += 2
    healthy, report = worker.health()
    assert not healthy
    assert report["status"] == "unhealthy"
    assert report["error"] == "connection refused"
    assert report["last_sweep_seconds_ago"] == 11.0
    engine.down = False
    seen = engine.sweeps
    while engine.sweeps < seen + 2:
        await asyncio.sleep(0.005)
    assert worker.health()[0] is True
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert worker.health() == (False, {"status": "stopped"})

"""WakeableLoop: one pass at a time, again at once after a busy pass, early on wake(), and it
survives a failing pass. Driven by events (never by the idle timer, which is set to an hour)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from botperms.worker.loop import WakeableLoop

HOUR = 3600.0


class Passes:
    """A `run_once` whose answers the test scripts; it reports each pass it runs."""

    def __init__(self, *answers: bool | Exception) -> None:
        self.answers = list(answers)
        self.count = 0
        self._ran = asyncio.Condition()
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> bool:
        self.count += 1
        async with self._ran:
            self._ran.notify_all()
        if self.gate is not None:
            await self.gate.wait()
        answer = self.answers.pop(0) if self.answers else False
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def reached(self, count: int) -> None:
        async with asyncio.timeout(5), self._ran:  # a guard against a hang, not a wait
            await self._ran.wait_for(lambda: self.count >= count)


@pytest.fixture
async def running() -> AsyncIterator[Callable[[Callable[[], Awaitable[bool]]], WakeableLoop]]:
    loops: list[WakeableLoop] = []

    def start(run_once: Callable[[], Awaitable[bool]]) -> WakeableLoop:
        loop = WakeableLoop("test", run_once, HOUR)
        loop.start()
        loops.append(loop)
        return loop

    yield start
    for loop in loops:
        await loop.stop()


async def test_start_runs_a_pass_and_then_waits(running: Callable[..., WakeableLoop]) -> None:
    passes = Passes(False)
    running(passes)
    await passes.reached(1)
    assert passes.count == 1


async def test_wake_runs_another_pass_before_the_idle_time(
    running: Callable[..., WakeableLoop],
) -> None:
    passes = Passes(False, False, False)
    loop = running(passes)
    await passes.reached(1)
    loop.wake()
    await passes.reached(2)
    loop.wake()
    await passes.reached(3)


async def test_a_wake_during_a_pass_is_not_lost(running: Callable[..., WakeableLoop]) -> None:
    passes = Passes(False, False)
    passes.gate = asyncio.Event()
    loop = running(passes)
    await passes.reached(1)
    loop.wake()  # new work arrived while the pass was running
    passes.gate.set()
    await passes.reached(2)


async def test_a_busy_pass_is_followed_by_another_at_once(
    running: Callable[..., WakeableLoop],
) -> None:
    passes = Passes(True, True, False)
    running(passes)
    await passes.reached(3)


async def test_a_failing_pass_does_not_end_the_loop(running: Callable[..., WakeableLoop]) -> None:
    passes = Passes(RuntimeError("database is locked"), False)
    loop = running(passes)
    await passes.reached(1)
    loop.wake()
    await passes.reached(2)
    assert loop._task is not None
    assert not loop._task.done()


async def test_stop_waits_for_the_running_pass_and_ends_the_loop() -> None:
    passes = Passes(True, True)
    passes.gate = asyncio.Event()
    loop = WakeableLoop("test", passes, HOUR)
    loop.start()
    await passes.reached(1)
    stopping = asyncio.create_task(loop.stop())
    await asyncio.sleep(0)  # let stop() begin: it must now be waiting for the pass
    assert not stopping.done()
    passes.gate.set()
    async with asyncio.timeout(5):
        await stopping
    # The busy answer did not start another pass once stopping.
    assert passes.count == 1
    assert loop._task is None


async def test_stop_without_start_and_twice_is_harmless() -> None:
    loop = WakeableLoop("test", Passes(), HOUR)
    await loop.stop()
    await loop.stop()


async def test_start_twice_runs_one_loop(running: Callable[..., WakeableLoop]) -> None:
    passes = Passes(False, False)
    loop = running(passes)
    task = loop._task
    loop.start()
    assert loop._task is task


async def test_a_stopped_loop_can_be_started_again() -> None:
    passes = Passes(False, False)
    loop = WakeableLoop("test", passes, HOUR)
    loop.start()
    await passes.reached(1)
    await loop.stop()
    loop.start()
    try:
        await passes.reached(2)
    finally:
        await loop.stop()

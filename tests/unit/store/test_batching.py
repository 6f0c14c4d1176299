"""Batcher: concurrent callers share flushes, each gets its own result after the flush that
holds its item, and one bad item fails only its own caller."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from botperms.store import Batcher


async def test_concurrent_items_share_flushes_and_keep_their_results() -> None:
    flushed: list[list[int]] = []

    async def flush(items: Sequence[int]) -> list[int]:
        flushed.append(list(items))
        await asyncio.sleep(0.01)  # a commit takes a while; others gather meanwhile
        return [item * 10 for item in items]

    batcher: Batcher[int, int] = Batcher("test", flush)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(50)))
    assert results == [n * 10 for n in range(50)]
    assert len(flushed) < 5
    assert sorted(item for batch in flushed for item in batch) == list(range(50))
    # A lone caller waits for nobody: its item is flushed on its own at once.
    assert await batcher.submit(99) == 990
    assert flushed[-1] == [99]


async def test_a_bad_item_fails_only_its_caller() -> None:
    async def flush(items: Sequence[int]) -> list[int]:
        if 13 in items:
            raise ValueError("the database refused 13")
        return list(items)

    batcher: Batcher[int, int] = Batcher("test", flush)
    results = await asyncio.gather(*(batcher.submit(n) for n in (1, 13, 2)), return_exceptions=True)
    assert results[0] == 1
    assert results[2] == 2
    assert isinstance(results[1], ValueError)


async def test_max_batch_bounds_a_flush() -> None:
    sizes: list[int] = []

    async def flush(items: Sequence[int]) -> list[None]:
        sizes.append(len(items))
        await asyncio.sleep(0)
        return [None] * len(items)

    batcher: Batcher[int, None] = Batcher("test", flush, max_batch=4)
    await asyncio.gather(*(batcher.submit(n) for n in range(10)))
    assert max(sizes) <= 4
    assert sum(sizes) == 10


async def test_a_caller_that_goes_away_still_has_its_item_written() -> None:
    written: list[int] = []
    gate = asyncio.Event()

    async def flush(items: Sequence[int]) -> list[None]:
        await gate.wait()
        written.extend(items)
        return [None] * len(items)

    batcher: Batcher[int, None] = Batcher("test", flush)
    caller = asyncio.create_task(batcher.submit(7))
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    gate.set()
    await batcher.close()
    assert written == [7]

"""Group commit: what concurrent callers want written shares one transaction.

Each caller awaits its own result, which it gets only after the transaction that holds its
item has committed. While one flush runs, new items gather for the next, so a lone caller waits
for nothing and a crowd pays one commit per batch instead of one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[Sequence[T]], Awaitable[Sequence[R]]]


class Batcher(Generic[T, R]):
    """Collects items from concurrent callers and writes them with ``flush`` in batches.

    ``flush(items)`` returns one result per item, in order. If a batch of several fails, each
    item is retried alone, so one item the database refuses fails only its own caller.
    """

    def __init__(self, name: str, flush: Flush[T, R], *, max_batch: int = 500) -> None:
        self.name = name
        self._flush = flush
        self._max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None
        self.flushes = 0  # how many transactions it took (for the benchmark and tests)

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name=f"batcher:{self.name}")
        # shield: a caller that goes away (a client disconnect) leaves its item to be written.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            await self._write(batch)

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.flushes += 1
        try:
            results = await self._flush([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle_error(batch[0][1], exc)
                return
            log.warning("batch.split", batcher=self.name, size=len(batch), error=type(exc).__name__)
            for one in batch:
                await self._write([one])
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def close(self) -> None:
        """Wait for everything submitted so far to be written."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


def _settle_error(future: asyncio.Future[R], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)

"""The web process's side of the relay: hand a delivery's events to the handler process and
wait until they have committed there.

One connection carries every delivery at once; answers come back by frame id, so concurrent
deliveries still share the handler process's group commit. When the handler process is not
there (restarting after a crash, say), a delivery fails with ``StorageUnavailable``: the
webhook answers 503 and Facebook delivers it again. Meanwhile the client keeps trying to
connect, so ``connected`` (the web half's ``/healthz``) turns true once a new one listens.

The handler process's questions (``ask`` frames: its Send API calls) are answered by
``answer``, concurrently, on the same connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import structlog

from botperms.relay.frames import MAX_FRAME, WAKE_FRAME, add_frame, read_frame, told_frame
from botperms.store import NewInboxItem, StorageUnavailable

log = structlog.get_logger(__name__)


Answer = Callable[[list[Any]], Awaitable[list[Any]]]


async def _no_answers(body: list[Any]) -> list[Any]:
    raise ValueError("this web process answers no questions")


class RelayClient:
    def __init__(
        self,
        socket: Path,
        *,
        answer: Answer = _no_answers,
        on_report: Callable[[list[Any]], None] = lambda body: None,
        answer_within: float = 15.0,
    ) -> None:
        """``answer``: what the handler process's questions get; ``on_report``: takes what it
        reports every second (its counters); ``answer_within``: how long a delivery waits
        for its commit before it is given up (a 503), well inside the 20 s Facebook waits
        for the webhook's answer."""
        self.socket = socket
        self._on_report = on_report
        self.answer_within = answer_within
        self._answer = answer
        self._answering: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._connecting: asyncio.Lock | None = None
        self._redial: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    def ready(self) -> bool:
        """Deliveries can be handed over now (the web half's ``/healthz``)."""
        return self.connected

    async def connect(self, *, within: float = 0.0) -> None:
        """Connect (again), retrying for ``within`` seconds while the handler process is not
        listening yet; ``StorageUnavailable`` if it still is not."""
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self.connected:
                return
            deadline = asyncio.get_running_loop().time() + within
            while True:
                try:
                    reader, writer = await asyncio.open_unix_connection(
                        str(self.socket), limit=MAX_FRAME
                    )
                    break
                except OSError as exc:
                    if asyncio.get_running_loop().time() >= deadline:
                        raise StorageUnavailable(
                            f"the handler process is not answering ({exc.strerror or exc})"
                        ) from None
                    await asyncio.sleep(0.05)
            self._writer = writer
            self._reader_task = asyncio.create_task(self._read(reader), name="relay:answers")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                frame = read_frame(line)
                if "report" in frame:
                    self._on_report(frame["report"])
                    continue
                if "ask" in frame:
                    task = asyncio.create_task(self._reply(int(frame["ask"]), frame["body"]))
                    self._answering.add(task)
                    task.add_done_callback(self._answering.discard)
                    continue
                future = self._waiting.pop(int(frame["id"]), None)
                if future is None or future.done():
                    continue  # given up on already (a 503); the events are stored anyway
                error = frame.get("error")
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(StorageUnavailable(str(error)))
        except (OSError, ValueError, KeyError) as exc:
            log.error("relay.answers_unreadable", error=str(exc))
        finally:
            self._lost("the handler process went away")

    async def _reply(self, ask_id: int, body: list[Any]) -> None:
        writer = self._writer
        try:
            result = await self._answer(body)
        except Exception as exc:
            # A bug of ours: the question still gets an answer, or it would wait forever.
            log.exception("relay.answer_failed")
            result = ["error", f"{type(exc).__name__}: {exc}"]
        # Only on the connection it came by: a new handler process never asked this.
        if writer is not None and writer is self._writer and not writer.is_closing():
            writer.write(told_frame(ask_id, result))

    def _lost(self, why: str) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if not self._closed and (self._redial is None or self._redial.done()):
            self._redial = asyncio.get_running_loop().create_task(
                self._reconnect(), name="relay:redial"
            )
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                # Maybe stored, maybe not: a redelivery is deduplicated either way.
                future.set_exception(StorageUnavailable(why))

    async def _reconnect(self) -> None:
        while not self._closed and not self.connected:
            await asyncio.sleep(0.2)
            try:
                await self.connect()
            except StorageUnavailable:
                continue
        if self.connected:
            log.info("relay.reconnected")

    async def submit(self, items: Sequence[NewInboxItem]) -> None:
        """Return once the events have committed in the handler process."""
        if not self.connected:
            await self.connect()
        assert self._writer is not None
        frame_id = next(self._ids)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[frame_id] = future
        self._writer.write(add_frame(frame_id, items))
        try:
            # shield: a client that goes away leaves its events to be stored, as in-process.
            await asyncio.wait_for(asyncio.shield(future), self.answer_within)
        except TimeoutError:
            self._waiting.pop(frame_id, None)
            raise StorageUnavailable(
                f"the handler process did not store the events within {self.answer_within:g} s"
            ) from None

    def wake(self) -> None:
        """Tell the handler process that events were queued in the database directly (a
        login's outcome); if it is away it finds them when it starts."""
        if self.connected:
            assert self._writer is not None
            self._writer.write(WAKE_FRAME)

    async def close(self) -> None:
        """After the handler process has stopped: its last questions are answered first."""
        self._closed = True
        if self._answering:
            await asyncio.wait(self._answering, timeout=30)
        if self._redial is not None:
            self._redial.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._redial
        task, self._reader_task = self._reader_task, None
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._lost("botperms is stopping")

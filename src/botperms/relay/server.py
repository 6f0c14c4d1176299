"""The handler process's side of the relay: store what the web process hands over, answer
after the commit, and wake the inbox worker; and ask the web process to do work for it
(:meth:`RelayServer.ask`: the Send API calls, which the web process has the spare CPU for)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import structlog

from botperms.relay.frames import (
    MAX_FRAME,
    BadFrame,
    answer_frame,
    ask_frame,
    items_of,
    read_frame,
    report_frame,
)
from botperms.store import NewInboxItem, StoreError

log = structlog.get_logger(__name__)

Intake = Callable[[Sequence[NewInboxItem]], Awaitable[None]]


class LinkLost(ConnectionError):
    """The web process hung up with a question unanswered: it may have done the work."""


class RelayServer:
    def __init__(
        self,
        socket: Path,
        intake: Intake,
        wake: Callable[[], None],
        *,
        on_lost: Callable[[], None] = lambda: None,
        report: Callable[[], list[Any]] | None = None,
        report_every: float = 1.0,
    ) -> None:
        """``intake``: the process's group-committed inbox intake; ``wake``: its inbox
        worker's wake-up; ``on_lost``: called when the web process hangs up with questions
        unanswered (this process should then stop, so its start-up recovery takes over);
        ``report``: what to send the web process every ``report_every`` seconds (counters)."""
        self.socket = socket
        self._report = report
        self._report_every = report_every
        self._reporting: asyncio.Task[None] | None = None
        self._intake = intake
        self._wake = wake
        self._on_lost = on_lost
        self._server: asyncio.Server | None = None
        self._accepting = True
        self._tasks: set[asyncio.Task[None]] = set()
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}
        # The web process's connection that questions go to (its latest), and the questions
        # waiting for their answers on it.
        self._link: asyncio.StreamWriter | None = None
        self._linked = asyncio.Event()
        self._ask_ids = itertools.count(1)
        self._asked: dict[int, tuple[asyncio.StreamWriter, asyncio.Future[list[Any]]]] = {}

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)  # left by a handler process that was killed
        self._server = await asyncio.start_unix_server(
            self._serve, str(self.socket), limit=MAX_FRAME
        )
        os.chmod(self.socket, 0o600)
        if self._report is not None:
            self._reporting = asyncio.create_task(self._send_reports(), name="relay:report")

    async def _send_reports(self) -> None:
        assert self._report is not None
        while True:
            await asyncio.sleep(self._report_every)
            link = self._link
            if link is not None and not link.is_closing():
                link.write(report_frame(self._report()))

    async def ask(self, body: list[Any]) -> list[Any]:
        """The web process's answer to ``body``. Waits for the web process to connect (it
        does as soon as this process listens); ``LinkLost`` if it hangs up first."""
        while self._link is None or self._link.is_closing():
            self._linked.clear()
            await self._linked.wait()
        writer = self._link
        ask_id = next(self._ask_ids)
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._asked[ask_id] = (writer, future)
        writer.write(ask_frame(ask_id, body))
        return await future

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[writer] = task
        self._link = writer
        self._linked.set()
        try:
            while line := await reader.readline():
                try:
                    frame = read_frame(line)
                    if "told" in frame:
                        self._told(int(frame["told"]), frame["body"])
                        continue
                    if frame.get("wake"):
                        self._wake()
                        continue
                    frame_id = int(frame["id"])
                    items = items_of(frame)
                except (BadFrame, KeyError, TypeError, ValueError) as exc:
                    # Only our web process writes here: a bad frame is a bug, not input.
                    log.error("relay.bad_frame", error=str(exc))
                    continue
                if not self._accepting:
                    writer.write(answer_frame(frame_id, "botperms is stopping"))
                    continue
                stored = asyncio.create_task(self._store(frame_id, items, writer))
                self._tasks.add(stored)
                stored.add_done_callback(self._tasks.discard)
        except (OSError, ValueError) as exc:  # ValueError: a line past MAX_FRAME
            log.error("relay.connection_failed", error=str(exc))
        finally:
            self._connections.pop(writer, None)
            writer.close()
            self._hung_up(writer)

    def _told(self, ask_id: int, body: Any) -> None:
        entry = self._asked.pop(ask_id, None)
        if entry is not None and not entry[1].done():
            if isinstance(body, list):
                entry[1].set_result(body)
            else:
                entry[1].set_exception(BadFrame("an answer that is not a list"))

    def _hung_up(self, writer: asyncio.StreamWriter) -> None:
        lost = [ask_id for ask_id, (link, _) in self._asked.items() if link is writer]
        for ask_id in lost:
            _, future = self._asked.pop(ask_id)
            if not future.done():
                future.set_exception(LinkLost("the web process hung up"))
        if lost:
            log.error("relay.lost_with_questions", unanswered=len(lost))
            self._on_lost()

    async def _store(
        self, frame_id: int, items: list[NewInboxItem], writer: asyncio.StreamWriter
    ) -> None:
        try:
            await self._intake(items)
        except StoreError as exc:
            log.error("relay.store_failed", error=str(exc))
            answer = answer_frame(frame_id, str(exc))
        else:
            self._wake()
            answer = answer_frame(frame_id)
        if not writer.is_closing():
            writer.write(answer)

    async def stop_intake(self) -> None:
        """Take no new deliveries (each gets an error answer, a 503), and finish storing and
        answering what was handed over. Questions still go to the web process."""
        self._accepting = False
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop taking deliveries, then hang up (after the workers have drained)."""
        await self.stop_intake()
        if self._reporting is not None:
            self._reporting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reporting
            link = self._link
            if self._report is not None and link is not None and not link.is_closing():
                link.write(report_frame(self._report()))  # the last counts, drained included
        # Hang up, so no connection's task is left to be cancelled mid-read.
        connections = list(self._connections.items())
        for writer, _ in connections:
            writer.close()
        if connections:
            await asyncio.gather(*(task for _, task in connections), return_exceptions=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)

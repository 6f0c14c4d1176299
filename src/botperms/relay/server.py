"""The handler process's side of the relay: store what the web process hands over, answer
after the commit, and wake the inbox worker."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import structlog

from botperms.relay.frames import MAX_FRAME, BadFrame, answer_frame, items_of, read_frame
from botperms.store import NewInboxItem, StoreError

log = structlog.get_logger(__name__)

Intake = Callable[[Sequence[NewInboxItem]], Awaitable[None]]


class RelayServer:
    def __init__(self, socket: Path, intake: Intake, wake: Callable[[], None]) -> None:
        """``intake``: the process's group-committed inbox intake; ``wake``: its inbox
        worker's wake-up."""
        self.socket = socket
        self._intake = intake
        self._wake = wake
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)  # left by a handler process that was killed
        self._server = await asyncio.start_unix_server(
            self._serve, str(self.socket), limit=MAX_FRAME
        )
        os.chmod(self.socket, 0o600)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[writer] = task
        try:
            while line := await reader.readline():
                try:
                    frame = read_frame(line)
                    if frame.get("wake"):
                        self._wake()
                        continue
                    frame_id = int(frame["id"])
                    items = items_of(frame)
                except (BadFrame, KeyError, TypeError, ValueError) as exc:
                    # Only our web process writes here: a bad frame is a bug, not input.
                    log.error("relay.bad_frame", error=str(exc))
                    continue
                task = asyncio.create_task(self._store(frame_id, items, writer))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except (OSError, ValueError) as exc:  # ValueError: a line past MAX_FRAME
            log.error("relay.connection_failed", error=str(exc))
        finally:
            self._connections.pop(writer, None)
            writer.close()

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

    async def stop(self) -> None:
        """Stop listening, and finish storing (and answering) what was handed over."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        # Then hang up, so no connection's task is left to be cancelled mid-read.
        connections = list(self._connections.items())
        for writer, _ in connections:
            writer.close()
        if connections:
            await asyncio.gather(*(task for _, task in connections), return_exceptions=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)

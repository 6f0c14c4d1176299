"""The SQLite lane: the hot path's transactions as plain ``sqlite3`` calls, one thread call each.

Profiling the embedded process under load (py-spy, docs/performance.md) put 44 % of its main
thread in the SQL layer: SQLAlchemy's per-statement work (cache keys, bind and result
processing, ``IN`` expansion) and aiosqlite's thread hop for every execute, fetch and commit.
SQLite's own work was a small part of it. So the few operations every event passes through
(storing it, reading what is due, committing its outcome, claiming and finishing its sends) run
here instead: each whole transaction is one function on a connection of the lane's, run in one
thread call. Everything else keeps using SQLAlchemy.

Writes take the database's fair writer lock first, like every other SQLite writer of the
process, so the lane and SQLAlchemy never make each other wait on SQLite's busy timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import TypeVar

import structlog

from botperms.store.errors import StorageUnavailable

log = structlog.get_logger(__name__)

T = TypeVar("T")

Work = Callable[[sqlite3.Connection], T]


@contextmanager
def lane_errors() -> Iterator[None]:
    """The driver's "cannot write / cannot open" errors as `StorageUnavailable`, as elsewhere."""
    try:
        yield
    except sqlite3.OperationalError as error:
        first = (str(error).strip().splitlines() or [""])[0]
        raise StorageUnavailable(
            f"the database is unavailable (OperationalError: {first})"
        ) from error


class _Side:
    """One connection, used on the event loop's thread and, when SQLite is busy, on a thread
    of its own; never on both at once (its callers take turns)."""

    def __init__(self, name: str, connect: Callable[[], sqlite3.Connection]) -> None:
        self._name = name
        self._connect = connect
        self.thread: ThreadPoolExecutor | None = None
        self.connection: sqlite3.Connection | None = None

    def call(self, function: Callable[[sqlite3.Connection], T]) -> Awaitable[T]:
        if self.thread is None:
            self.thread = ThreadPoolExecutor(1, thread_name_prefix=self._name)
        return asyncio.get_running_loop().run_in_executor(self.thread, self._with, function)

    def _with(self, function: Callable[[sqlite3.Connection], T]) -> T:
        if self.connection is None:
            self.connection = self._connect()
        return function(self.connection)

    async def run(self, transaction: Work[T], busy_timeout_ms: int) -> T:
        """``transaction`` on the caller's thread (the event loop's), with no thread hop; on
        this side's thread with SQLite's busy timeout if SQLite says busy at once (another
        process holds the lock). Only one call at a time: the callers take turns."""
        try:
            return self._with(transaction)
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise
        return await self.call(partial(_waiting, transaction, busy_timeout_ms))

    async def close(self) -> None:
        thread, self.thread = self.thread, None

        def close_connection() -> None:
            if self.connection is not None:
                self.connection.close()
                self.connection = None

        if thread is None:  # only ever used from the loop's thread
            close_connection()
            return
        await asyncio.get_running_loop().run_in_executor(thread, close_connection)
        thread.shutdown(wait=True)


class SqliteLane:
    """Two ``sqlite3`` connections to the database file, each with its one thread: one for
    writes and one for reads, so a read never waits behind a write that waits for the lock.

    ``background_checkpoints``: the lane's connections leave WAL checkpoints (which write the
    log back into the database file and fsync both) to `checkpoint`, called from a thread of
    their own (`Checkpointer`), instead of running one inside whichever commit crossed
    SQLite's threshold: on a virtual disk that made one commit in a few hundred take tens of
    milliseconds, with every writer of both processes queued behind it."""

    def __init__(
        self,
        path: str,
        writer_turn: asyncio.Lock,
        *,
        busy_timeout_ms: Callable[[], int],
        background_checkpoints: bool = False,
    ) -> None:
        self._path = path
        self._turn = writer_turn
        self._busy_timeout_ms = busy_timeout_ms
        self._background = background_checkpoints
        self._writer = _Side("sqlite-lane-write", self._connect)
        self._reader = _Side("sqlite-lane-read", self._connect)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: the lane says BEGIN and COMMIT itself, as SQLAlchemy's
        # connections do (database.py); the same pragmas as theirs, but no busy timeout: a
        # transaction that would wait for the lock is run on the thread instead (`write`).
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=0")
        connection.execute("PRAGMA synchronous=NORMAL")
        if self._background:
            connection.execute("PRAGMA wal_autocheckpoint=0")
        return connection

    async def write(self, work: Work[T]) -> T:
        """Run ``work`` in a write transaction (BEGIN IMMEDIATE … COMMIT, rolled back if it
        raises), after the other writers of this process ahead of it.

        On the event loop's own thread, when the lock is free at once: the lane's
        transactions take tens of microseconds, less than a hop to a thread and back, and
        with no busy timeout SQLite refuses at BEGIN instead of waiting. Only when another
        process holds the lock does the transaction go to the thread, to wait there."""
        transaction = partial(_transaction, work=work, begin="BEGIN IMMEDIATE")
        with lane_errors():
            async with self._turn:
                return await self._writer.run(transaction, self._busy_timeout_ms())

    async def read(self, work: Work[T]) -> T:
        """Run ``work`` in a read transaction: in WAL mode it sees one committed state and
        neither waits for the writers nor holds them up, so it runs on the loop's thread
        (on the lane's reading thread only when SQLite says busy, which is rare for a WAL
        reader: another process recovering the log, say)."""
        transaction = partial(_transaction, work=work, begin="BEGIN")
        with lane_errors():
            return await self._reader.run(transaction, self._busy_timeout_ms())

    def checkpoint(self) -> tuple[int, int]:
        """One PASSIVE checkpoint on a connection of the caller's thread: copies what it can
        of the log into the database without waiting for readers or writers. Returns (pages
        in the log, pages copied)."""
        connection = sqlite3.connect(self._path, isolation_level=None)
        try:
            _busy, log, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return int(log), int(copied)
        finally:
            connection.close()

    async def close(self) -> None:
        await self._writer.close()
        await self._reader.close()


def _busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY, in any of its extended forms (BUSY_RECOVERY, BUSY_SNAPSHOT, ...)."""
    return (error.sqlite_errorcode & 0xFF) == sqlite3.SQLITE_BUSY


def _waiting(transaction: Work[T], busy_timeout_ms: int, connection: sqlite3.Connection) -> T:
    """``transaction`` with SQLite's busy timeout: on the lane's thread, off the loop."""
    connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    try:
        return transaction(connection)
    finally:
        connection.execute("PRAGMA busy_timeout=0")


def _transaction(connection: sqlite3.Connection, work: Work[T], begin: str) -> T:
    connection.execute(begin)
    try:
        result = work(connection)
        connection.execute("COMMIT")
    except BaseException:
        # Some errors (a full disk) have rolled the transaction back already; a failed
        # COMMIT may not have, and the next BEGIN must find none open.
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return result


class Checkpointer:
    """Runs the lane's WAL checkpoints every ``every`` seconds in a thread of its own, for
    the one process per database file that owns them (``serve``)."""

    def __init__(self, lane: SqliteLane, *, every: float = 0.5) -> None:
        self._lane = lane
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self._lane.checkpoint)
            except sqlite3.Error as exc:  # busy or locked now: the next one catches up
                log.warning("sqlite.checkpoint_failed", error=str(exc))
            await asyncio.sleep(self._every)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sqlite-checkpoints")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # What is left in the log goes into the file now, with nothing else running.
        with contextlib.suppress(sqlite3.Error):
            await asyncio.to_thread(self._lane.checkpoint)

"""Which kinds of botperms process share a PostgreSQL database, held for each process's life.

Two setups double replies: two embedded processes (each runs the in-process workers, so each
sends every reply), and an embedded process beside distributed ones (its workers and the queue
engine's both handle the same events). Two advisory locks keep them apart: an embedded process
holds both exclusively; a web replica or a worker holds the second one shared. Whoever comes
second is refused with a line that says what is running. (On SQLite, the embedded process's
file lock does the same job: worker/process_lock.py.)
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from botperms.store.database import Database
from botperms.store.errors import StoreError, storage_errors

EMBEDDED_LOCK = 0x62700001
DISTRIBUTED_LOCK = 0x62700002


class UnsafeSetup(StoreError):
    """Another botperms process on this database makes this one unsafe to run."""


class RoleLock:
    def __init__(self, database: Database, *, embedded: bool) -> None:
        self._database = database
        self._embedded = embedded
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> None:
        with storage_errors():
            # Its own connection, outside any transaction, open for as long as we run.
            connection = await self._database.engine.connect()
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                await self._take(connection)
            except BaseException:
                await connection.close()
                raise
            self._connection = connection

    async def _take(self, connection: AsyncConnection) -> None:
        async def try_lock(key: int, *, shared: bool) -> bool:
            function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
            result = await connection.execute(text(f"SELECT {function}({key})"))
            return bool(result.scalar())

        if self._embedded:
            if not await try_lock(EMBEDDED_LOCK, shared=False):
                raise UnsafeSetup(
                    "another `botperms serve` already runs the workers on this database; a "
                    "second one would send every reply twice. To run more than one process, "
                    "use `botperms serve --web-only` replicas and `botperms worker` processes"
                )
            if not await try_lock(DISTRIBUTED_LOCK, shared=False):
                raise UnsafeSetup(
                    "web replicas or workers (`serve --web-only`, `botperms worker`) already "
                    "use this database; an embedded `botperms serve` beside them would handle "
                    "their events too. Start this one with --web-only, or stop them"
                )
        elif not await try_lock(DISTRIBUTED_LOCK, shared=True):
            raise UnsafeSetup(
                "an embedded `botperms serve` runs the workers on this database; stop it "
                "before starting web replicas or workers"
            )

    async def release(self) -> None:
        if self._connection is not None:
            # The pool would keep the session (and its locks) alive: release them first.
            with storage_errors():
                await self._connection.execute(text("SELECT pg_advisory_unlock_all()"))
                await self._connection.close()
            self._connection = None

"""The async engine, its sessions, SQLite connection set-up and programmatic migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from botperms.store.errors import StorageUnavailable, storage_errors
from botperms.store.sqlite_lane import SqliteLane

# Where Alembic finds env.py and versions/, as a package resource so it works from a wheel too.
MIGRATIONS = "botperms.store:migrations"
# How long a SQLite writer waits for another one before "database is locked" (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 5000
_READ_ONLY = "botperms_read_only"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that `_sqlite_begin` decides how a
    # transaction starts (the SQLAlchemy-documented recipe for pysqlite/aiosqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front. A deferred transaction that reads and then writes
    # cannot wait for the lock when another writer got in between (SQLITE_BUSY at once, no busy
    # timeout), which would make read-then-write operations fail under load. Read-only
    # transactions (`Database.read`) stay deferred: in WAL mode they run beside the writer.
    if connection.get_execution_options().get(_READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


MIGRATION_LOCK = 0x626F746D  # a pg_advisory_xact_lock key of our own


def _run_alembic(connection: Connection, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    # env.py picks the live connection up from here instead of building its own engine.
    config.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


# PostgreSQL plans each statement for its parameters, not once per prepared statement: asyncpg
# prepares every statement, and a generic plan made while the queues were nearly empty (a new
# deployment, the first seconds of a burst) stays in use as they grow. One such plan, a nested
# loop over the outbox, took 3 s per claim with 17,000 messages queued and stalled the worker
# until autovacuum's next ANALYZE; planned afresh it takes 18 ms. Planning costs ~0.1 ms.
_PLAN_CACHE_MODE = "force_custom_plan"


def _postgres_settings(driver: str) -> dict[str, Any]:
    if driver == "asyncpg":
        return {"server_settings": {"plan_cache_mode": _PLAN_CACHE_MODE}}
    if driver == "psycopg":
        return {"options": f"-c plan_cache_mode={_PLAN_CACHE_MODE}"}
    return {}


class Database:
    """One async engine and its session factory, for SQLite (aiosqlite) or PostgreSQL (asyncpg).

    `url` is a SQLAlchemy URL: ``sqlite+aiosqlite:///path/to/botperms.db`` or
    ``postgresql+asyncpg://user@host/db``.
    """

    def __init__(self, url: str, *, background_checkpoints: bool = False) -> None:
        """``background_checkpoints`` (SQLite): the hot path's connections leave WAL
        checkpoints to a `Checkpointer` that the process owning the file runs."""
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StorageUnavailable(
                    f"cannot create the directory for the SQLite database ({error.strerror})"
                ) from error
        # hide_parameters: a failing statement's bound values (ciphertexts, ids) stay out of
        # error messages and therefore out of logs.
        self.engine: AsyncEngine = create_async_engine(
            parsed,
            connect_args=_postgres_settings(parsed.get_driver_name()),
            hide_parameters=True,
            # No pre-ping: it cost a round trip (in a transaction of its own) per checkout,
            # a third of a worker's PostgreSQL traffic. A connection that died is invalidated
            # by its first failing statement (StorageUnavailable, retried by the callers), and
            # recycling bounds how old one can get.
            pool_recycle=-1 if self.is_sqlite else 300,
        )
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_connect)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False
        )
        self._readers: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
        )
        # SQLite lets one writer in at a time and makes the others poll with growing sleeps,
        # which under concurrent webhooks starves some of them for seconds. Queueing our own
        # transactions on a fair lock first means each waits only for those ahead of it.
        self._sqlite_turn: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        # The hot path's transactions on SQLite (sqlite_lane.py); an in-memory database has
        # one connection's worth of data, so it has none.
        self.lane: SqliteLane | None = None
        if self._sqlite_turn is not None and parsed.database and parsed.database != ":memory:":
            self.lane = SqliteLane(
                str(Path(parsed.database).expanduser()),
                self._sqlite_turn,
                busy_timeout_ms=lambda: SQLITE_BUSY_TIMEOUT_MS,
                background_checkpoints=background_checkpoints,
            )

    @property
    def dialect(self) -> str:
        """The backend's name ("sqlite" or "postgresql"); the few differing queries ask it."""
        return self.engine.dialect.name

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to `revision` (Alembic upgrade; idempotent)."""
        with storage_errors():
            async with self.engine.begin() as connection:
                if not self.is_sqlite:
                    # Replicas and workers start together: one migrates, the others wait for
                    # it (released at commit) and then find nothing left to do.
                    await connection.exec_driver_sql(
                        f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"
                    )
                await connection.run_sync(_run_alembic, "upgrade", revision)

    async def downgrade(self, revision: str = "base") -> None:
        """Take the schema back down to `revision` ("base" drops every table)."""
        with storage_errors():
            async with self.engine.begin() as connection:
                await connection.run_sync(_run_alembic, "downgrade", revision)

    async def dispose(self) -> None:
        if self.lane is not None:
            await self.lane.close()
        await self.engine.dispose()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error.

        Driver errors meaning "no database" come out as `StorageUnavailable`.
        """
        with storage_errors():
            if self._sqlite_turn is None:
                async with self.sessions.begin() as session:
                    yield session
                return
            async with self._sqlite_turn, self.sessions.begin() as session:
                yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only. On SQLite it neither waits for nor blocks the writers
        (WAL); writing in it is a bug (SQLite would refuse under load)."""
        with storage_errors():
            async with self._readers.begin() as session:
                yield session

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

"""One contract suite, every backend: each test gets a fresh, migrated database of its own.

SQLite runs in a temporary file. PostgreSQL runs on the server `tests.postgres` finds
(BOTPERMS_TEST_POSTGRES_URL, else the local server on 127.0.0.1:5432 when it answers); each test
creates and drops its own database there. Without a server the PostgreSQL half is skipped on a
workstation but FAILS in CI (CI=true), so a misconfigured pipeline cannot go green on SQLite alone.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from botperms.store import Database, Store, TokenCipher, new_key
from tests.postgres import postgres_server_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def backend_url(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[str]:
    if request.param == "sqlite":
        # A directory that does not exist yet: Database must create it.
        yield f"sqlite+aiosqlite:///{tmp_path}/data/botperms.db"
        return
    server = make_url(postgres_server_url())
    name = f"botperms_test_{uuid.uuid4().hex[:16]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield server.set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


@pytest.fixture
async def database(backend_url: str) -> AsyncIterator[Database]:
    db = Database(backend_url)
    await db.migrate()
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher([new_key()])


@pytest.fixture
def store(database: Database, cipher: TokenCipher) -> Store:
    return Store(database, cipher)


@pytest.fixture
async def sqlite_database(tmp_path: object) -> AsyncIterator[Database]:
    """For the failures only SQLite can simulate here (a capped file, its writer lock)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/data/botperms.db")
    await db.migrate()
    try:
        yield db
    finally:
        await db.dispose()

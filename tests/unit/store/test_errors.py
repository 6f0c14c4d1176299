from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from botperms.store import Database, StorageUnavailable, Store, StoreError, TokenCipher, new_key
from botperms.store.errors import storage_errors


def test_driver_errors_become_storage_unavailable_with_the_drivers_words() -> None:
    driver = sqlite3.OperationalError("database or disk is full")
    wrapped = sa_exc.OperationalError("INSERT INTO grants VALUES (?)", ("ciphertext",), driver)
    with pytest.raises(StorageUnavailable) as raised, storage_errors():
        raise wrapped
    assert str(raised.value) == (
        "the database is unavailable (OperationalError: database or disk is full)"
    )
    assert isinstance(raised.value, StoreError)
    assert raised.value.__cause__ is wrapped


def test_integrity_errors_pass_through() -> None:
    error = sa_exc.IntegrityError("INSERT", None, sqlite3.IntegrityError("UNIQUE failed"))
    with pytest.raises(sa_exc.IntegrityError), storage_errors():
        raise error


def test_connection_refused_is_storage_unavailable() -> None:
    with pytest.raises(StorageUnavailable, match="cannot connect"), storage_errors():
        raise ConnectionRefusedError(111, "Connect call failed")


async def test_an_unreachable_postgresql_server_is_storage_unavailable() -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    db = Database("postgresql+asyncpg://postgres:hunter2@127.0.0.1:1/nothing")
    try:
        with pytest.raises(StorageUnavailable) as raised:
            await Store(db, TokenCipher([new_key()])).active_grant("page1", "psid1")
        assert "hunter2" not in str(raised.value)
    finally:
        await db.dispose()

"""When the database cannot take a write: a readable StorageUnavailable, nothing half-written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select

from botperms.store import Database, StorageUnavailable, Store, TokenCipher
from botperms.store.models import Grant

TOKEN = "EAAB-secret-token-that-must-not-leak"


def _grant(token: str) -> dict[str, Any]:
    return {
        "page_id": "page1",
        "psid": "psid1",
        "asid": None,
        "access_token": token,
        "scopes_granted": ["user_likes"],
        "scopes_declined": [],
        "expires_at": None,
        "data_access_expires_at": None,
        "flow": "web",
    }


async def test_a_full_disk_is_storage_unavailable_and_rolls_back(
    sqlite_database: Database, cipher: TokenCipher
) -> None:
    database = sqlite_database
    store = Store(database, cipher)
    first = await store.save_grant(**_grant("first-token"))

    def cap_file_size(dbapi_connection: Any, _record: Any) -> None:
        # Pin the file at its current size: any write needing a new page gets SQLITE_FULL.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    await database.engine.dispose()
    event.listen(database.engine.sync_engine, "connect", cap_file_size)
    big_token = TOKEN + "x" * 200_000
    with pytest.raises(StorageUnavailable) as raised:
        await store.save_grant(**_grant(big_token))
    message = str(raised.value)
    assert "full" in message
    assert TOKEN not in message
    assert "INSERT" not in message
    assert TOKEN not in repr(raised.value.__cause__)

    event.remove(database.engine.sync_engine, "connect", cap_file_size)
    await database.engine.dispose()
    # The previous grant is still the active one: the "replaced" update was rolled back too.
    active = await store.active_grant("page1", "psid1")
    assert active is not None
    assert active.id == first.id
    assert active.access_token == "first-token"
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Grant)) == 1


async def test_a_locked_database_is_storage_unavailable(
    sqlite_database: Database, cipher: TokenCipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = sqlite_database
    import botperms.store.database as database_module

    # Another connection holds the write lock; ours gives up after a short busy timeout.
    monkeypatch.setattr(database_module, "SQLITE_BUSY_TIMEOUT_MS", 50)
    blocker = Database(str(database.engine.url))
    impatient = Database(str(database.engine.url))
    try:
        async with blocker.engine.connect() as holder:
            await holder.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: write lock held
            with pytest.raises(StorageUnavailable, match="locked"):
                await Store(impatient, cipher).upsert_user("page1", "psid1")
            await holder.rollback()
    finally:
        await blocker.dispose()
        await impatient.dispose()

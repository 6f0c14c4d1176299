"""The SQLite lane: the hot path's plain-sqlite3 transactions store what SQLAlchemy stores, so
either reads the other's rows, and a write it cannot make fails cleanly with nothing kept."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from botperms.store import (
    Database,
    Failed,
    Handled,
    NewInboxItem,
    SaveIntent,
    Send,
    StorageUnavailable,
    Store,
    TokenCipher,
)
from botperms.store.models import InboxEvent, OutboxMessage
from botperms.store.outbox import SendOutcome

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def _event(key: str, psid: str = "psid1", time: int = 0) -> NewInboxItem:
    return NewInboxItem(
        event_key=key,
        page_id="page1",
        psid=psid,
        kind="message",
        payload={"message": {"mid": key, "text": "hi ✓"}},
        event_time=time,
    )


@pytest.fixture
def database(sqlite_database: Database) -> Database:
    return sqlite_database  # this file is about SQLite only (conftest.py)


@pytest.fixture
def store(database: Database, cipher: TokenCipher) -> Store:
    return Store(database, cipher)


async def test_a_file_database_has_a_lane_and_an_in_memory_one_has_none(
    database: Database,
) -> None:
    assert database.lane is not None
    memory = Database("sqlite+aiosqlite:///:memory:")
    try:
        assert memory.lane is None
    finally:
        await memory.dispose()


async def test_rows_the_lane_writes_read_back_through_sqlalchemy(
    database: Database, store: Store
) -> None:
    assert await store.inbox_add([_event("a"), _event("b", time=1)]) == 2
    [first] = await store.inbox_pending(NOW, 10)
    await store.inbox_complete([Handled(first.id, [Send("page1", "psid1", {"text": "é ✓"})])])
    async with database.session() as session:
        event = await session.scalar(select(InboxEvent).where(InboxEvent.event_key == "a"))
        message = await session.scalar(select(OutboxMessage))
    assert event is not None
    assert message is not None
    assert event.status == "done"
    assert event.payload == {"message": {"mid": "a", "text": "hi ✓"}}
    assert event.processed_at is not None
    assert event.processed_at.tzinfo is UTC
    assert abs(event.processed_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert event.conversation_group == 22  # crc32("psid1") % 64
    assert message.payload == {"text": "é ✓"}
    assert message.next_attempt_at.tzinfo is UTC
    assert message.conversation_group == event.conversation_group


async def test_rows_sqlalchemy_writes_are_read_by_the_lane(store: Store) -> None:
    # A handled event with an effect the lane does not take commits through SQLAlchemy.
    await store.inbox_add([_event("a")])
    [item] = await store.inbox_pending(NOW, 10)
    intent = SaveIntent("page1", "psid1", ("user_likes",), {"x": 1}, NOW + timedelta(days=1))
    await store.inbox_complete(
        [Handled(item.id, [Send("page1", "psid1", {"text": "one"}), intent])]
    )
    await store.outbox_add("page1", "psid1", {"text": "two"})
    claimed = await store.outbox_claim(datetime.now(UTC), 10)
    assert [m.payload for m in claimed] == [{"text": "one"}]
    assert claimed[0].created_at is not None
    assert claimed[0].created_at.tzinfo is UTC
    await store.outbox_finish([SendOutcome(claimed[0].id, "sent", message_id="m.1")])
    [second] = await store.outbox_claim(datetime.now(UTC), 10)
    assert second.payload == {"text": "two"}
    sent = await store.outbox_list(status="sent")
    assert [(m.message_id, m.attempts) for m in sent] == [("m.1", 1)]


async def test_a_failed_event_keeps_its_error_and_is_held_until_due(store: Store) -> None:
    await store.inbox_add([_event("a"), _event("b", time=1)])
    [item] = await store.inbox_pending(NOW, 10)
    await store.inbox_complete([Failed(item.id, "boom", NOW + timedelta(minutes=1))])
    assert await store.inbox_pending(NOW, 10) == []
    [again] = await store.inbox_pending(NOW + timedelta(minutes=2), 10)
    assert (again.event_key, again.attempts, again.last_error) == ("a", 1, "boom")


async def test_the_claim_offers_only_each_conversations_oldest_message(store: Store) -> None:
    for n in range(3):
        await store.outbox_add("page1", "psid1", {"n": n})
    await store.outbox_add("page1", "psid2", {"n": 9})
    now = datetime.now(UTC) + timedelta(seconds=1)
    first = await store.outbox_claim(now, 10)
    assert [m.payload["n"] for m in first] == [0, 9]
    # Both conversations have a message in flight: nothing more until they finish.
    assert await store.outbox_claim(now, 10) == []
    retry = now + timedelta(minutes=5)
    await store.outbox_finish(
        [
            SendOutcome(first[0].id, "pending", error="rate limited", next_attempt_at=retry),
            SendOutcome(first[1].id, "sent", message_id="m.9"),
        ]
    )
    # The message waiting for its retry holds back the two after it.
    assert await store.outbox_claim(now, 10) == []
    [again] = await store.outbox_claim(retry, 10)
    assert (again.payload["n"], again.attempts, again.last_error) == (0, 1, "rate limited")
    # A paused page's messages stay where they are.
    assert await store.outbox_claim(retry, 10, exclude_pages={"page1"}) == []


async def test_a_full_disk_fails_the_intake_cleanly_and_keeps_nothing(
    database: Database, store: Store
) -> None:
    assert database.lane is not None
    await store.inbox_add([_event("small")])

    def cap(connection: sqlite3.Connection) -> None:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count={pages}")

    await database.lane.write(cap)
    big = NewInboxItem(
        event_key="big",
        page_id="page1",
        psid="psid2",
        kind="message",
        payload={"message": {"text": "x" * 500_000}},
        event_time=1,
    )
    with pytest.raises(StorageUnavailable, match="full"):
        await store.inbox_add([_event("fits", psid="psid3"), big])
    # The batch rolled back as a whole, and the lane goes on.
    assert await store.inbox_counts() == {"pending": 1}
    await database.lane.close()  # a new connection: no cap
    assert await store.inbox_add([_event("later", psid="psid4")]) == 1


async def test_lane_writes_and_sqlalchemy_writes_take_turns(store: Store) -> None:
    # Both kinds of writer at once, many times: none waits on SQLite's busy timeout or fails.
    async def lane_writer(n: int) -> None:
        await store.inbox_add([_event(f"e{n}", psid=f"p{n}")])

    async def orm_writer(n: int) -> None:
        await store.outbox_add("page1", f"p{n}", {"n": n})

    await asyncio.gather(*(f(n) for n in range(100) for f in (lane_writer, orm_writer)))
    assert await store.inbox_counts() == {"pending": 100}
    assert await store.outbox_counts() == {"pending": 100}


async def test_the_hot_statements_use_their_indexes(database: Database) -> None:
    # A plan that walks the status index instead of the primary key held the worker for
    # milliseconds per read under a backlog (docs/performance.md); EXPLAIN shows which.
    from botperms.store import sqlite_hot

    def plans(connection: sqlite3.Connection) -> dict[str, str]:
        statements = {
            "chosen": sqlite_hot._INBOX_CHOSEN,
            "heads": sqlite_hot._OUTBOX_HEADS,
            "grants": sqlite_hot._GRANTS,
        }
        return {
            name: " | ".join(
                row[3]
                for row in connection.execute(
                    "EXPLAIN QUERY PLAN " + sql, [None] * sql.count("?")
                ).fetchall()
            )
            for name, sql in statements.items()
        }

    assert database.lane is not None
    found = await database.lane.read(plans)
    assert found["chosen"].startswith("SEARCH inbox USING INTEGER PRIMARY KEY"), found
    assert "ix_outbox_status_id" in found["heads"], found
    assert "ix_outbox_status_conversation" in found["heads"], found
    assert "uq_grants_active_per_user" in found["grants"], found


def count_events(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT count(*) FROM inbox").fetchone()[0])


async def test_a_write_that_finds_the_lock_taken_waits_off_the_loop(
    database: Database, store: Store
) -> None:
    """The lane writes on the loop's thread with no busy timeout; when another process holds
    SQLite's write lock, it waits on its thread instead, and the loop goes on meanwhile."""
    assert database.lane is not None
    await store.inbox_add([_event("first")])
    other = sqlite3.connect(database.lane._path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's write transaction
    writing = asyncio.create_task(store.inbox_add([_event("second", psid="psid2")]))
    ticks = 0
    for _ in range(20):
        await asyncio.sleep(0.01)
        ticks += 1
    assert not writing.done()  # waiting for the lock...
    assert ticks == 20  # ...without holding up the loop
    # The lane's reads go on meanwhile (WAL): they see the committed state.
    assert await database.lane.read(count_events) == 1
    other.execute("COMMIT")
    assert await asyncio.wait_for(writing, 5) == 1
    assert await store.inbox_counts() == {"pending": 2}
    other.close()
    # The next write is back on the loop's thread: the lock is free again.
    assert await store.inbox_add([_event("third", psid="psid3")]) == 1


async def test_a_write_past_the_busy_timeout_fails_cleanly(
    database: Database, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert database.lane is not None
    monkeypatch.setattr(database.lane, "_busy_timeout_ms", lambda: 100)
    other = sqlite3.connect(database.lane._path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StorageUnavailable, match="locked"):
        await store.inbox_add([_event("blocked")])
    other.execute("ROLLBACK")
    other.close()
    assert await store.inbox_add([_event("then")]) == 1

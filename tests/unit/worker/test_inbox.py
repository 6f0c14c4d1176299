"""InboxWorker: order within a conversation, conversations in parallel, retries, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from botperms.messenger import MessagingEvent
from botperms.store import Database, NewInboxItem, Store, TokenCipher
from botperms.worker.inbox import MAX_ATTEMPTS, InboxWorker
from tests.unit.worker.conftest import PAGE_ID, inbox_rows, make_due


def message(psid: str, mid: str, ts: int, text: str | None = None) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": ts,
        "message": {"mid": mid, "text": text or mid},
    }


def stored(raw: dict[str, Any]) -> NewInboxItem:
    """What the webhook stores for one event."""
    event = MessagingEvent.model_validate(raw)
    return NewInboxItem(
        event_key=event.key(),
        page_id=event.page_id or PAGE_ID,
        psid=event.psid,
        kind=event.kind,
        payload=event.model_dump(mode="json", exclude_none=True, by_alias=True),
        event_time=event.timestamp,
    )


class Recorder:
    """A handler that records the mids it saw; `failing` mids raise (a count, or forever)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.events: list[MessagingEvent] = []
        self.failing: dict[str, int] = {}
        self.before: dict[str, Callable[[], Any]] = {}

    async def __call__(self, event: MessagingEvent) -> None:
        assert event.message is not None
        mid = event.message.mid
        self.seen.append(mid)
        self.events.append(event)
        if mid in self.before:
            await self.before[mid]()
        left = self.failing.get(mid, 0)
        if left:
            self.failing[mid] = left - 1
            raise RuntimeError(f"handler broke on {mid}")

    def of(self, prefix: str) -> list[str]:
        return [mid for mid in self.seen if mid.startswith(prefix)]


@pytest.fixture
def handler() -> Recorder:
    return Recorder()


@pytest.fixture
def worker(store: Store, handler: Recorder) -> InboxWorker:
    return InboxWorker(store, handler)


async def row_by_key(db: Database, mid: str) -> Any:
    [row] = [row for row in (await inbox_rows(db)).values() if row.event_key == f"mid:{mid}"]
    return row


async def test_each_event_is_handled_once_and_marked_done(
    store: Store, worker: InboxWorker, handler: Recorder, database: Database
) -> None:
    raw = message("alice", "a1", 1000, text="hello")
    assert await store.inbox_add([stored(raw)]) == 1
    assert await store.inbox_add([stored(raw)]) == 0  # a redelivery is recognised

    assert await worker.run_once() is True
    assert await worker.run_once() is False
    [event] = handler.events
    assert (event.psid, event.page_id, event.kind) == ("alice", PAGE_ID, "message")
    assert event.message is not None
    assert event.message.text == "hello"
    row = await row_by_key(database, "a1")
    assert (row.status, row.attempts, row.last_error) == ("done", 1, None)
    assert row.processed_at is not None


async def test_a_conversation_is_handled_in_event_order_one_at_a_time(
    store: Store, worker: InboxWorker, handler: Recorder
) -> None:
    # Stored out of order: the event time decides, not the arrival.
    await store.inbox_add([stored(message("alice", "a3", 3000))])
    await store.inbox_add(
        [stored(message("alice", "a1", 1000)), stored(message("bob", "b1", 1500))]
    )
    await store.inbox_add([stored(message("alice", "a2", 2000))])
    log: list[str] = []
    bob_done = asyncio.Event()

    async def a1_waits_for_bob() -> None:
        log.append("a1 waiting")
        await bob_done.wait()
        log.append("a1 resumed")

    async def b1_runs() -> None:
        log.append("b1")
        bob_done.set()

    handler.before = {"a1": a1_waits_for_bob, "b1": b1_runs}
    async with asyncio.timeout(5):  # a guard against a hang, not a wait
        assert await worker.run_once() is True
    assert handler.of("a") == ["a1", "a2", "a3"]
    # While a1 was parked, Bob ran and Alice's later events did not start.
    assert log == ["a1 waiting", "b1", "a1 resumed"]
    assert handler.seen.index("a2") > handler.seen.index("b1")


async def test_conversations_are_handled_concurrently(
    store: Store, worker: InboxWorker, handler: Recorder
) -> None:
    # Each handler waits for the other to have started: handled one after the other, this
    # would never finish.
    alice_started, bob_started = asyncio.Event(), asyncio.Event()

    async def alice() -> None:
        alice_started.set()
        await bob_started.wait()

    async def bob() -> None:
        bob_started.set()
        await alice_started.wait()

    handler.before = {"a1": alice, "b1": bob}
    await store.inbox_add(
        [stored(message("alice", "a1", 1000)), stored(message("bob", "b1", 1001))]
    )
    async with asyncio.timeout(5):
        assert await worker.run_once() is True
    assert sorted(handler.seen) == ["a1", "b1"]


async def test_a_failing_event_is_retried_later_and_holds_its_conversation_back(
    store: Store, worker: InboxWorker, handler: Recorder, database: Database
) -> None:
    handler.failing = {"a1": 1}
    events = [
        message("alice", "a1", 1000),
        message("alice", "a2", 2000),
        message("bob", "b1", 1500),
        message("bob", "b2", 2500),
    ]
    await store.inbox_add([stored(raw) for raw in events])
    before = datetime.now(UTC)

    await worker.run_once()
    assert handler.of("a") == ["a1"]
    assert handler.of("b") == ["b1", "b2"]
    failed = await row_by_key(database, "a1")
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert failed.last_error == "RuntimeError: handler broke on a1"
    assert failed.retry_at is not None
    assert before + timedelta(seconds=0.5) <= failed.retry_at
    assert failed.retry_at <= datetime.now(UTC) + timedelta(seconds=1)
    held = await row_by_key(database, "a2")
    assert (held.status, held.attempts) == ("pending", 0)  # released, not counted as a try

    assert await worker.run_once() is False  # a1 not due yet, and a2 waits behind it
    assert handler.of("a") == ["a1"]

    await make_due(database)
    await worker.run_once()
    assert handler.of("a") == ["a1", "a1", "a2"]
    rows = {row.event_key: row for row in (await inbox_rows(database)).values()}
    assert {key: row.status for key, row in rows.items()} == dict.fromkeys(
        ["mid:a1", "mid:a2", "mid:b1", "mid:b2"], "done"
    )
    assert (rows["mid:a1"].attempts, rows["mid:a2"].attempts) == (2, 1)


async def test_after_max_attempts_an_event_is_dead_lettered_and_the_conversation_moves_on(
    store: Store, worker: InboxWorker, handler: Recorder, database: Database
) -> None:
    handler.failing = {"a1": MAX_ATTEMPTS + 10}
    await store.inbox_add(
        [stored(message("alice", "a1", 1000)), stored(message("alice", "a2", 2000))]
    )
    for attempt in range(1, MAX_ATTEMPTS):
        await worker.run_once()
        row = await row_by_key(database, "a1")
        assert (row.status, row.attempts) == ("pending", attempt)
        assert "a2" not in handler.seen
        await make_due(database)

    await worker.run_once()
    dead = await row_by_key(database, "a1")
    assert (dead.status, dead.attempts) == ("failed", MAX_ATTEMPTS)
    assert dead.last_error == "RuntimeError: handler broke on a1"
    assert dead.retry_at is None
    assert handler.seen == ["a1"] * MAX_ATTEMPTS + ["a2"]  # a2 went on in the same pass
    assert (await row_by_key(database, "a2")).status == "done"

    await make_due(database)
    assert await worker.run_once() is False  # a dead letter is never picked up again


async def test_a_payload_that_no_longer_validates_is_retried_then_dead_lettered(
    store: Store, worker: InboxWorker, handler: Recorder, database: Database
) -> None:
    broken = NewInboxItem(
        event_key="sha256:broken",
        page_id=PAGE_ID,
        psid="alice",
        kind="message",
        payload={"sender": {"id": "alice"}, "recipient": {"id": PAGE_ID}},  # no timestamp
        event_time=1000,
    )
    await store.inbox_add([broken, stored(message("alice", "a2", 2000))])
    await store.inbox_add([stored(message("bob", "b1", 1500))])

    await worker.run_once()  # must not raise
    assert handler.seen == ["b1"]
    rows = {row.event_key: row for row in (await inbox_rows(database)).values()}
    bad = rows["sha256:broken"]
    assert (bad.status, bad.attempts) == ("pending", 1)
    assert bad.last_error is not None
    assert bad.last_error.startswith("ValidationError:")
    assert "timestamp" in bad.last_error

    for _ in range(MAX_ATTEMPTS - 1):
        await make_due(database)
        await worker.run_once()
    rows = {row.event_key: row for row in (await inbox_rows(database)).values()}
    assert (rows["sha256:broken"].status, rows["sha256:broken"].attempts) == (
        "failed",
        MAX_ATTEMPTS,
    )
    assert rows["mid:a2"].status == "done"
    assert handler.seen == ["b1", "a2"]


async def test_a_restart_loses_nothing(db_url: str, cipher: TokenCipher, handler: Recorder) -> None:
    first_db = Database(db_url)
    await first_db.migrate()
    first = Store(first_db, cipher)
    handler.failing = {"c1": 1}
    await first.inbox_add(
        [stored(message("carol", "c1", 500)), stored(message("carol", "c2", 600))]
    )
    await InboxWorker(first, handler).run_once()  # c1 fails and waits for its retry
    await first.inbox_add(
        [stored(message("alice", "a1", 1000)), stored(message("alice", "a2", 2000))]
    )
    await first.inbox_add([stored(message("bob", "b1", 1500))])
    # A crash in the middle of a pass: claimed, never finished.
    claimed = await first.inbox_claim(datetime.now(UTC), 2)
    assert [item.event_key for item in claimed] == ["mid:a1", "mid:b1"]
    await first_db.dispose()

    second_db = Database(db_url)
    await second_db.migrate()
    try:
        second = Store(second_db, cipher)
        assert await second.inbox_recover() == 2  # what Services.start does
        worker = InboxWorker(second, handler)
        await make_due(second_db)
        for _ in range(10):
            if not await worker.run_once():
                break
        statuses = {row.event_key: row.status for row in (await inbox_rows(second_db)).values()}
    finally:
        await second_db.dispose()
    assert set(statuses.values()) == {"done"}
    assert len(statuses) == 5
    assert handler.of("a") == ["a1", "a2"]
    assert handler.of("c") == ["c1", "c1", "c2"]
    assert handler.of("b") == ["b1"]

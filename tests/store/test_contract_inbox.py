"""The inbox: dedupe, per-conversation order, retries, recovery and racing claimers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from botperms.store import Database, InboxItem, NewInboxItem, Store, TokenCipher

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def _event(
    key: str, psid: str | None = "psid1", time: int = 0, page: str = "page1"
) -> NewInboxItem:
    return NewInboxItem(
        event_key=key,
        page_id=page,
        psid=psid,
        kind="message",
        payload={"message": {"mid": key, "text": "hi ✓"}},
        event_time=time,
    )


def _keys(items: list[InboxItem]) -> list[str]:
    return [item.event_key for item in items]


async def test_add_ignores_duplicates(store: Store) -> None:
    assert await store.inbox_add([_event("m1", time=1), _event("m2", time=2)]) == 2
    assert await store.inbox_add([_event("m2", time=2), _event("m3", time=3), _event("m3")]) == 1
    # The same key on another page is another event.
    assert await store.inbox_add([_event("m1", page="page2")]) == 1
    assert await store.inbox_add([]) == 0
    assert await store.inbox_counts() == {"pending": 4}


async def test_claim_returns_events_in_time_order_with_payload(store: Store) -> None:
    await store.inbox_add([_event("late", time=20), _event("early", psid="psid2", time=10)])
    claimed = await store.inbox_claim(NOW, 10)
    assert _keys(claimed) == ["early", "late"]
    assert claimed[0].payload == {"message": {"mid": "early", "text": "hi ✓"}}
    assert claimed[0].attempts == 1
    assert claimed[0].event_time == 10
    assert await store.inbox_claim(NOW, 10) == []


async def test_a_busy_conversation_is_skipped_but_others_proceed(store: Store) -> None:
    await store.inbox_add([_event("a1", time=1)])
    first = await store.inbox_claim(NOW, 10)
    await store.inbox_add([_event("a2", time=2), _event("b1", psid="psid2", time=3)])
    assert _keys(await store.inbox_claim(NOW, 10)) == ["b1"]
    await store.inbox_done(first[0].id)
    assert _keys(await store.inbox_claim(NOW, 10)) == ["a2"]


async def test_limit_and_events_without_psid(store: Store) -> None:
    await store.inbox_add([_event(f"n{i}", psid=None, time=i) for i in range(3)])
    assert _keys(await store.inbox_claim(NOW, 2)) == ["n0", "n1"]
    # The page's psid-less events are one conversation, so n2 waits for n0 and n1.
    assert await store.inbox_claim(NOW, 2) == []


async def test_a_retry_in_the_future_holds_back_its_conversation(store: Store) -> None:
    await store.inbox_add([_event("a1", time=1), _event("a2", time=2)])
    await store.inbox_add([_event("b1", psid="psid2", time=3)])
    claimed = await store.inbox_claim(NOW, 1)
    assert _keys(claimed) == ["a1"]
    await store.inbox_failed(claimed[0].id, "graph timeout", retry_at=NOW + timedelta(minutes=1))
    assert _keys(await store.inbox_claim(NOW, 10)) == ["b1"]
    later = await store.inbox_claim(NOW + timedelta(minutes=2), 10)
    assert _keys(later) == ["a1", "a2"]
    assert later[0].attempts == 2


async def test_failed_without_retry_is_a_dead_letter(store: Store) -> None:
    await store.inbox_add([_event("a1", time=1), _event("a2", time=2)])
    claimed = await store.inbox_claim(NOW, 1)
    await store.inbox_failed(claimed[0].id, "handler crashed", retry_at=None)
    assert _keys(await store.inbox_claim(NOW, 10)) == ["a2"]
    assert await store.inbox_counts() == {"failed": 1, "processing": 1}


async def test_recover_puts_processing_events_back(store: Store) -> None:
    await store.inbox_add([_event("a1", time=1), _event("b1", psid="psid2", time=2)])
    assert len(await store.inbox_claim(NOW, 10)) == 2
    assert await store.inbox_recover() == 2
    assert _keys(await store.inbox_claim(NOW, 10)) == ["a1", "b1"]


async def test_racing_claimers_never_share_or_reorder_a_conversation(
    backend_url: str, database: Database, cipher: TokenCipher
) -> None:
    store = Store(database, cipher)
    events = [
        _event(f"c{c}-{n}", psid=f"psid{c}", time=n * 10 + c) for c in range(8) for n in range(5)
    ]
    await store.inbox_add(events)
    others = [Database(backend_url) for _ in range(3)]
    stores = [store, *(Store(db, cipher) for db in others)]
    seen: list[InboxItem] = []

    async def worker(own: Store) -> None:
        # Claim small batches and finish them, like a worker loop, until nothing is left.
        for _ in range(200):
            batch = await own.inbox_claim(NOW, 3)
            if not batch:
                counts = await own.inbox_counts()
                if counts.get("pending", 0) == 0 and counts.get("processing", 0) == 0:
                    return
                await asyncio.sleep(0.001)
                continue
            psids = {item.psid for item in batch}
            for psid in psids:
                # Nobody else may hold this conversation while we do.
                assert not any(s.psid == psid for s in active), psid
            active.extend(batch)
            seen.extend(batch)
            await asyncio.sleep(0)
            for item in batch:
                active.remove(item)
                await own.inbox_done(item.id)

    active: list[InboxItem] = []
    try:
        await asyncio.gather(*(worker(s) for s in stores for _ in range(2)))
    finally:
        for db in others:
            await db.dispose()
    assert sorted(_keys(seen)) == sorted(e.event_key for e in events)
    for c in range(8):
        mine = [item.event_key for item in seen if item.psid == f"psid{c}"]
        assert mine == [f"c{c}-{n}" for n in range(5)]


async def test_release_returns_claimed_events_without_counting_an_attempt(store: Store) -> None:
    from datetime import UTC, datetime

    from botperms.store import NewInboxItem

    await store.inbox_add(
        [
            NewInboxItem(
                event_key=f"k{i}", page_id="p", psid="u", kind="message", payload={}, event_time=i
            )
            for i in range(3)
        ]
    )
    claimed = await store.inbox_claim(datetime.now(UTC), 10)
    assert [item.event_key for item in claimed] == ["k0", "k1", "k2"]
    await store.inbox_done(claimed[0].id)
    await store.inbox_release([claimed[1].id, claimed[2].id])
    again = await store.inbox_claim(datetime.now(UTC), 10)
    assert [item.event_key for item in again] == ["k1", "k2"]
    assert [item.attempts for item in again] == [1, 1]


async def test_many_concurrent_deliveries_all_get_stored(
    backend_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import botperms.store.database as database_module
    from botperms.store import Database, NewInboxItem, Store, TokenCipher, new_key

    # A short busy timeout: without our own queueing, SQLite writers racing for the lock
    # would give up (StorageUnavailable) instead of waiting their turn.
    monkeypatch.setattr(database_module, "SQLITE_BUSY_TIMEOUT_MS", 20)
    database = Database(backend_url)
    await database.migrate()
    store = Store(database, TokenCipher([new_key()]))
    try:

        async def deliver(n: int) -> int:
            item = NewInboxItem(
                event_key=f"c{n}",
                page_id="p",
                psid=f"u{n}",
                kind="message",
                payload={},
                event_time=n,
            )
            return await store.inbox_add([item])

        added = await asyncio.gather(*(deliver(n) for n in range(60)))
        assert sum(added) == 60
        assert await store.inbox_counts() == {"pending": 60}
    finally:
        await database.dispose()

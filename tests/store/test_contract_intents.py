"""Pending intents, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from botperms.store import Store

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
EVENT = {"sender": {"id": "psid1"}, "message": {"mid": "m1", "text": "likes"}}


async def _save(store: Store, event: dict[str, object] = EVENT, ttl: int = 3600) -> None:
    await store.save_pending_intent(
        page_id="page1",
        psid="psid1",
        scopes=["user_likes"],
        event=dict(event),
        expires_at=NOW + timedelta(seconds=ttl),
    )


async def test_an_intent_is_kept_until_taken_once(store: Store) -> None:
    await _save(store)
    peeked = await store.pending_intent("page1", "psid1", now=NOW)
    assert peeked is not None
    assert peeked.event == EVENT
    assert peeked.scopes == ("user_likes",)
    assert peeked.asks == 1
    taken = await store.take_pending_intent("page1", "psid1", now=NOW)
    assert taken is not None
    assert taken.event == EVENT
    assert await store.take_pending_intent("page1", "psid1", now=NOW) is None
    assert await store.pending_intent("page1", "psid1", now=NOW) is None


async def test_the_newest_intent_replaces_the_older_and_resets_the_asks(store: Store) -> None:
    await _save(store)
    assert await store.bump_pending_intent("page1", "psid1") == 2
    newer = {"sender": {"id": "psid1"}, "message": {"mid": "m2", "text": "likes please"}}
    await _save(store, newer)
    found = await store.pending_intent("page1", "psid1", now=NOW)
    assert found is not None
    assert found.event == newer
    assert found.asks == 1


async def test_asks_count_up_and_nothing_counts_without_an_intent(store: Store) -> None:
    assert await store.bump_pending_intent("page1", "psid1") == 0
    await _save(store)
    assert await store.bump_pending_intent("page1", "psid1") == 2
    assert await store.bump_pending_intent("page1", "psid1") == 3


async def test_an_expired_intent_is_not_replayed_and_is_removed(store: Store) -> None:
    await _save(store, ttl=60)
    later = NOW + timedelta(minutes=5)
    assert await store.pending_intent("page1", "psid1", now=later) is None
    assert await store.take_pending_intent("page1", "psid1", now=later) is None
    assert await store.pending_intent("page1", "psid1", now=NOW) is None


async def test_racing_takers_get_the_intent_once(store: Store) -> None:
    await _save(store)
    results = await asyncio.gather(
        *(store.take_pending_intent("page1", "psid1", now=NOW) for _ in range(5))
    )
    assert sum(result is not None for result in results) == 1


async def test_drop(store: Store) -> None:
    assert not await store.drop_pending_intent("page1", "psid1")
    await _save(store)
    assert await store.drop_pending_intent("page1", "psid1")
    assert await store.pending_intent("page1", "psid1", now=NOW) is None

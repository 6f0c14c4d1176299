"""The outbox: oldest-first per conversation, retries, dead letters, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botperms.store import Store

LATER = datetime.now(UTC) + timedelta(hours=1)


async def test_add_then_due_in_id_order(store: Store) -> None:
    first = await store.outbox_add("page1", "psid1", {"text": "hello"})
    second = await store.outbox_add(
        "page1", "psid2", {"text": "news"}, messaging_type="MESSAGE_TAG", tag="ACCOUNT_UPDATE"
    )
    due = await store.outbox_due(LATER, 10)
    assert [item.id for item in due] == [first, second]
    assert due[1].payload == {"text": "news"}
    assert (due[1].messaging_type, due[1].tag, due[1].attempts) == (
        "MESSAGE_TAG",
        "ACCOUNT_UPDATE",
        0,
    )
    assert [item.id for item in await store.outbox_due(LATER, 1)] == [first]


async def test_only_the_oldest_message_of_a_conversation_is_due(store: Store) -> None:
    first = await store.outbox_add("page1", "psid1", {"text": "1"})
    second = await store.outbox_add("page1", "psid1", {"text": "2"})
    assert [item.id for item in await store.outbox_due(LATER, 10)] == [first]
    await store.outbox_sent(first, "mid.1")
    assert [item.id for item in await store.outbox_due(LATER, 10)] == [second]


async def test_a_retry_waits_and_holds_back_the_conversation(store: Store) -> None:
    first = await store.outbox_add("page1", "psid1", {"text": "1"})
    await store.outbox_add("page1", "psid1", {"text": "2"})
    other = await store.outbox_add("page1", "psid2", {"text": "x"})
    await store.outbox_retry(first, "rate limited", LATER)
    assert [item.id for item in await store.outbox_due(LATER - timedelta(minutes=1), 10)] == [other]
    due = await store.outbox_due(LATER, 10)
    assert [item.id for item in due] == [first, other]
    assert due[0].attempts == 1
    assert due[0].last_error == "rate limited"


async def test_sent_and_dead_are_final_and_listed(store: Store) -> None:
    sent = await store.outbox_add("page1", "psid1", {"text": "1"})
    dead = await store.outbox_add("page1", "psid2", {"text": "2"})
    await store.outbox_sent(sent, "mid.1")
    await store.outbox_dead(dead, "user unavailable (551)")
    assert await store.outbox_due(LATER, 10) == []
    [sent_item] = await store.outbox_list(status="sent")
    assert sent_item.id == sent
    assert sent_item.message_id == "mid.1"
    assert sent_item.attempts == 1
    [dead_item] = await store.outbox_list(status="dead")
    assert dead_item.last_error == "user unavailable (551)"
    assert [item.id for item in await store.outbox_list()] == [sent, dead]


async def test_long_errors_are_clipped(store: Store) -> None:
    item = await store.outbox_add("page1", "psid1", {"text": "1"})
    await store.outbox_dead(item, "x" * 10_000)
    [dead] = await store.outbox_list(status="dead")
    assert dead.last_error is not None
    assert len(dead.last_error) <= 2000

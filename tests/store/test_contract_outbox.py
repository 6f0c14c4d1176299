"""The outbox: claimed oldest-first per conversation, finished in batches, retries, dead
letters, and recovery of what a crash left "sending", on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botperms.store import SendOutcome, Store

LATER = datetime.now(UTC) + timedelta(hours=1)


def soon() -> datetime:
    """Just after now: messages queued so far are due."""
    return datetime.now(UTC) + timedelta(seconds=1)


async def test_claim_marks_sending_in_id_order(store: Store) -> None:
    first = await store.outbox_add("p", "alice", {"text": "one"})
    second = await store.outbox_add("p", "bob", {"text": "two"}, messaging_type="UPDATE")
    claimed = await store.outbox_claim(soon(), 10)
    assert [item.id for item in claimed] == [first, second]
    assert [item.status for item in claimed] == ["sending", "sending"]
    assert claimed[1].messaging_type == "UPDATE"
    assert await store.outbox_counts() == {"sending": 2}
    # Claimed once: a second claim finds nothing.
    assert await store.outbox_claim(soon(), 10) == []


async def test_a_conversation_sends_one_message_at_a_time(store: Store) -> None:
    one = await store.outbox_add("p", "alice", {"text": "one"})
    two = await store.outbox_add("p", "alice", {"text": "two"})
    other = await store.outbox_add("p", "bob", {"text": "x"})
    assert [item.id for item in await store.outbox_claim(soon(), 10)] == [one, other]
    # While "one" is sending, "two" waits: the order within a conversation holds.
    assert await store.outbox_claim(soon(), 10) == []
    await store.outbox_finish([SendOutcome(one, "sent", message_id="mid.1")])
    assert [item.id for item in await store.outbox_claim(soon(), 10)] == [two]


async def test_exclude_leaves_conversations_in_hand(store: Store) -> None:
    await store.outbox_add("p", "alice", {"text": "one"})
    bob = await store.outbox_add("p", "bob", {"text": "two"})
    claimed = await store.outbox_claim(soon(), 10, exclude={("p", "alice")})
    assert [item.id for item in claimed] == [bob]


async def test_a_retry_waits_and_holds_back_the_conversation(store: Store) -> None:
    one = await store.outbox_add("p", "alice", {"text": "one"})
    await store.outbox_add("p", "alice", {"text": "two"})
    await store.outbox_claim(soon(), 10)
    await store.outbox_finish([SendOutcome(one, "pending", error="1200", next_attempt_at=LATER)])
    assert await store.outbox_claim(soon(), 10) == []
    [again] = await store.outbox_claim(LATER + timedelta(seconds=1), 10)
    assert (again.id, again.attempts, again.last_error) == (one, 1, "1200")


async def test_sent_and_dead_are_final_and_listed(store: Store) -> None:
    sent = await store.outbox_add("p", "alice", {"text": "a"})
    dead = await store.outbox_add("p", "bob", {"text": "b"})
    await store.outbox_claim(soon(), 10)
    await store.outbox_finish(
        [
            SendOutcome(sent, "sent", message_id="mid.a"),
            SendOutcome(dead, "dead", error="551 not available"),
        ]
    )
    [done] = await store.outbox_list(status="sent")
    assert (done.id, done.message_id, done.attempts) == (sent, "mid.a", 1)
    [letter] = await store.outbox_list(status="dead")
    assert (letter.id, letter.last_error) == (dead, "551 not available")
    assert await store.outbox_claim(LATER, 10) == []


async def test_long_errors_are_clipped(store: Store) -> None:
    item = await store.outbox_add("p", "alice", {"text": "a"})
    await store.outbox_claim(soon(), 10)
    await store.outbox_finish([SendOutcome(item, "dead", error="x" * 10_000)])
    [letter] = await store.outbox_list(status="dead")
    assert letter.last_error is not None
    assert len(letter.last_error) <= 2000


async def test_recover_counts_and_requeues_what_a_crash_left_sending(store: Store) -> None:
    one = await store.outbox_add("p", "alice", {"text": "a"})
    await store.outbox_add("p", "bob", {"text": "b"})
    await store.outbox_claim(soon(), 1)
    assert await store.outbox_recover() == 1
    assert await store.outbox_counts() == {"pending": 2}
    claimed = await store.outbox_claim(soon(), 10)
    assert claimed[0].id == one
    assert claimed[0].last_error is not None
    assert "duplicate" in claimed[0].last_error

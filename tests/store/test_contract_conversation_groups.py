"""A group of a page's conversations, as the distributed worker reads it, on every backend: the
group's due events per conversation and in order, bounded per conversation and in all, retries
that hold their conversation back, the messages due outside any event, and nothing of another
group or page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from botperms.store import (
    CONVERSATION_GROUPS,
    Failed,
    NewInboxItem,
    SendOutcome,
    Store,
    conversation_group,
)

PAGE = "page1"


def soon() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=1)


def event(psid: str | None, n: int, page: str = PAGE) -> NewInboxItem:
    key = f"{page}.{psid}.{n}"
    return NewInboxItem(key, page, psid, "message", {"message": {"mid": key}}, 1000 + n)


def same_group(count: int, *, other_than: int | None = None) -> list[str]:
    """``count`` PSIDs of one group (not ``other_than``)."""
    seen: dict[int, list[str]] = {}
    for n in range(10_000):
        psid = f"psid{n}"
        group = conversation_group(psid)
        if group == other_than:
            continue
        seen.setdefault(group, []).append(psid)
        if len(seen[group]) == count:
            return seen[group]
    raise AssertionError("no such group")


def test_groups_are_stable_and_spread() -> None:
    assert conversation_group("12345") == conversation_group("12345")
    assert conversation_group(None) == conversation_group("") == 0
    groups = {conversation_group(str(10_000 + n)) for n in range(2_000)}
    assert groups == set(range(CONVERSATION_GROUPS))


async def test_a_group_read_gives_each_conversation_its_events_in_order(store: Store) -> None:
    alice, bob = same_group(2)
    (carol,) = same_group(1, other_than=conversation_group(alice))
    await store.inbox_add(
        [event(alice, 3), event(bob, 1), event(alice, 2), event(carol, 0), event(bob, 4)]
    )
    await store.inbox_add([event(alice, 9, page="page2")])  # another page
    work = await store.group_read(
        PAGE, conversation_group(alice), soon(), limit=100, per_conversation=10
    )
    by_person = {c.psid: [i.event_time for i in c.events.items] for c in work.conversations}
    assert by_person == {bob: [1001, 1004], alice: [1002, 1003]}
    assert [c.psid for c in work.conversations] == [bob, alice]  # oldest event first
    assert work.full is False
    assert all(c.page_id == PAGE and not c.sends_due for c in work.conversations)


async def test_a_group_read_is_bounded_per_conversation_and_in_all(store: Store) -> None:
    alice, bob = same_group(2)
    await store.inbox_add(
        [event(alice, n) for n in range(8)] + [event(bob, 10 + n) for n in range(2)]
    )
    group = conversation_group(alice)
    work = await store.group_read(PAGE, group, soon(), limit=100, per_conversation=3)
    sizes = {c.psid: len(c.events.items) for c in work.conversations}
    assert sizes == {alice: 3, bob: 2}
    assert work.full is True  # alice has more
    work = await store.group_read(PAGE, group, soon(), limit=4, per_conversation=50)
    assert sum(len(c.events.items) for c in work.conversations) == 4
    assert work.full is True


async def test_a_waiting_retry_holds_back_its_conversation_and_says_when(store: Store) -> None:
    alice, bob = same_group(2)
    await store.inbox_add([event(alice, 1), event(alice, 2), event(bob, 3)])
    group = conversation_group(alice)
    first = await store.group_read(PAGE, group, soon(), limit=10, per_conversation=10)
    retry_at = datetime.now(UTC) + timedelta(minutes=5)
    (alice_first,) = [c.events.items[0] for c in first.conversations if c.psid == alice]
    await store.inbox_complete([Failed(alice_first.id, "boom", retry_at=retry_at)])
    work = await store.group_read(PAGE, group, soon(), limit=10, per_conversation=10)
    (held,) = [c for c in work.conversations if c.psid == alice]
    assert held.events.items == []
    assert held.events.wait_until is not None
    assert abs(held.events.wait_until - retry_at) < timedelta(seconds=1)
    loose = await store.group_read(
        PAGE, group, soon(), limit=10, per_conversation=10, strict_order=False
    )
    (ahead,) = [c for c in loose.conversations if c.psid == alice]
    assert [item.event_time for item in ahead.events.items] == [1002]


async def test_messages_due_outside_any_event_are_in_the_group_read(store: Store) -> None:
    alice, bob = same_group(2)
    await store.outbox_add(PAGE, alice, {"text": "from the CLI"})
    waiting = await store.outbox_add(PAGE, bob, {"text": "retry later"})
    [claimed] = await store.outbox_claim(soon(), 10, exclude={(PAGE, alice)})
    assert claimed.id == waiting
    later = datetime.now(UTC) + timedelta(hours=1)
    await store.outbox_finish(
        [SendOutcome(waiting, "pending", error="1200", next_attempt_at=later)]
    )
    work = await store.group_read(
        PAGE, conversation_group(alice), soon(), limit=10, per_conversation=10
    )
    # bob's message is not due yet; alice's is, with no event of hers.
    assert [(c.psid, c.sends_due, c.events.items, c.grant) for c in work.conversations] == [
        (alice, True, [], None)
    ]
    sends = await store.conversation_sends([(PAGE, alice), (PAGE, bob)], soon())
    assert [item.payload["text"] for item in sends[(PAGE, alice)].items] == ["from the CLI"]
    assert sends[(PAGE, bob)].items == []
    assert sends[(PAGE, bob)].wait_until is not None


async def test_events_without_a_person_are_group_zero(store: Store) -> None:
    await store.inbox_add([event(None, 1)])
    work = await store.group_read(PAGE, 0, soon(), limit=10, per_conversation=10)
    assert [(c.psid, len(c.events.items)) for c in work.conversations] == [("", 1)]


async def test_waiting_rows_without_a_group_get_theirs(store: Store, database: Any) -> None:
    # As a replica of the version before groups, still running in a rolling upgrade, writes.
    await store.inbox_add([event("alice", 1), event(None, 2)])
    await store.outbox_add(PAGE, "bob", {"text": "x"})
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE inbox SET conversation_group = NULL"))
        await connection.execute(text("UPDATE outbox SET conversation_group = NULL"))

    async def psids(psid: str) -> list[tuple[str, bool]]:
        work = await store.group_read(
            PAGE, conversation_group(psid), soon(), limit=9, per_conversation=9
        )
        return [(c.psid, c.sends_due) for c in work.conversations]

    assert await psids("alice") == []
    assert await store.conversation_groups_fill() == 3
    assert await store.conversation_groups_fill() == 0
    assert await psids("alice") == [("alice", False)]
    assert ("bob", True) in await psids("bob")
    assert ("", False) in await psids("")  # the event without a person: group 0

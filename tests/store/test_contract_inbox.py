"""The inbox: dedupe, the oldest pending event of each conversation, retries, recovery, and
completions that commit an event's effects with it, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from botperms.messenger.intake import read_delivery
from botperms.store import (
    Batcher,
    Failed,
    Handled,
    InboxItem,
    Leave,
    NewInboxItem,
    QueueEvent,
    ReplayIntent,
    SaveIntent,
    Send,
    Store,
    StoreError,
    internal_event,
)

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
    assert await store.inbox_add([_event("a"), _event("b", time=1)]) == 2
    assert await store.inbox_add([_event("a"), _event("c", time=2)]) == 1
    assert await store.inbox_counts() == {"pending": 3}
    # The same key on another page is another event.
    assert await store.inbox_add([_event("a", page="page2")]) == 1


async def test_pending_is_the_oldest_event_of_each_conversation_in_time_order(
    store: Store,
) -> None:
    await store.inbox_add(
        [
            _event("bob-2", "bob", time=30),
            _event("alice-1", "alice", time=20),
            _event("bob-1", "bob", time=10),
            _event("alice-2", "alice", time=40),
        ]
    )
    items = await store.inbox_pending(NOW, 10)
    assert _keys(items) == ["bob-1", "alice-1"]
    assert items[0].payload == {"message": {"mid": "bob-1", "text": "hi ✓"}}
    assert items[0].attempts == 0
    assert items[0].conversation == ("page1", "bob")


async def test_conversations_in_hand_are_excluded(store: Store) -> None:
    await store.inbox_add([_event("a1", "a", 1), _event("b1", "b", 2), _event("c1", "c", 3)])
    items = await store.inbox_pending(NOW, 10, exclude={("page1", "a"), ("page1", "c")})
    assert _keys(items) == ["b1"]


async def test_limit_and_events_without_psid(store: Store) -> None:
    # Events without a person form one conversation per page.
    await store.inbox_add([_event("x1", None, 1), _event("x2", None, 2), _event("y", "y", 3)])
    assert _keys(await store.inbox_pending(NOW, 10)) == ["x1", "y"]
    assert _keys(await store.inbox_pending(NOW, 1)) == ["x1"]
    assert await store.inbox_pending(NOW, 0) == []


async def test_standby_is_kept(store: Store) -> None:
    item = NewInboxItem("s", "page1", "p", "message", {}, 1, standby=True)
    await store.inbox_add([item])
    [pending] = await store.inbox_pending(NOW, 10)
    assert pending.standby is True


async def test_a_retry_in_the_future_holds_back_its_conversation_in_strict_order(
    store: Store,
) -> None:
    await store.inbox_add([_event("a1", "a", 1), _event("a2", "a", 2), _event("b1", "b", 3)])
    [first, _] = await store.inbox_pending(NOW, 10)
    await store.inbox_complete([Failed(first.id, "boom", retry_at=NOW + timedelta(minutes=1))])
    assert _keys(await store.inbox_pending(NOW, 10)) == ["b1"]
    # Not strict: the conversation's next event goes ahead of the one waiting for its retry.
    assert _keys(await store.inbox_pending(NOW, 10, strict_order=False)) == ["a2", "b1"]
    # Once due, the failed one comes first again, with its attempt counted.
    [again, _] = await store.inbox_pending(NOW + timedelta(minutes=2), 10)
    assert (again.event_key, again.attempts, again.last_error) == ("a1", 1, "boom")


async def test_failed_without_retry_is_a_dead_letter(store: Store) -> None:
    await store.inbox_add([_event("a1", "a", 1), _event("a2", "a", 2)])
    [first] = await store.inbox_pending(NOW, 10)
    await store.inbox_complete([Failed(first.id, "x" * 5000, retry_at=None)])
    assert await store.inbox_counts() == {"failed": 1, "pending": 1}
    [dead] = await store.inbox_list(status="failed")
    assert dead.last_error is not None
    assert len(dead.last_error) <= 2000
    # Later events of the conversation go on.
    assert _keys(await store.inbox_pending(NOW, 10)) == ["a2"]


async def test_handled_events_commit_with_their_effects(store: Store) -> None:
    await store.inbox_add([_event("a1", "a", 1), _event("b1", "b", 2)])
    a, b = await store.inbox_pending(NOW, 10)
    later = internal_event("page1", "a", "login:1", "login", {"login": "succeeded"})
    await store.inbox_complete(
        [
            Handled(a.id, [Send("page1", "a", {"text": "one"}), QueueEvent(later)]),
            Handled(b.id, [Send("page1", "b", {"text": "two"}), Send("page1", "b", {"text": "3"})]),
        ]
    )
    assert await store.inbox_counts() == {"done": 2, "pending": 1}
    sent = [(item.psid, item.payload) for item in await store.outbox_list()]
    assert sent == [("a", {"text": "one"}), ("b", {"text": "two"}), ("b", {"text": "3"})]
    [queued] = await store.inbox_pending(NOW, 10)
    assert queued.event_key == "login:1"
    assert queued.payload["botperms"] == {"login": "succeeded"}


async def test_a_failing_batch_commits_nothing_of_any_event(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.inbox_add([_event("a1", "a", 1), _event("b1", "b", 2)])
    a, b = await store.inbox_pending(NOW, 10)
    original = store._apply

    async def refuse(tx: object, effect: object) -> None:
        if isinstance(effect, SaveIntent):
            raise StoreError("the database refused it")
        await original(tx, effect)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_apply", refuse)
    intent = SaveIntent("page1", "b", ("user_likes",), {"x": 1}, NOW + timedelta(hours=1))
    with pytest.raises(StoreError):
        await store.inbox_complete(
            [Handled(a.id, [Send("page1", "a", {"text": "one"})]), Handled(b.id, [intent])]
        )
    assert await store.inbox_counts() == {"pending": 2}
    assert await store.outbox_list() == []


async def test_replay_takes_the_intent_once(store: Store) -> None:
    now = datetime.now(UTC)
    await store.save_pending_intent(
        page_id="page1",
        psid="a",
        scopes=["user_likes"],
        event={"sender": {"id": "a"}, "recipient": {"id": "page1"}, "timestamp": 1},
        expires_at=now + timedelta(hours=1),
    )
    await store.inbox_add([_event("a1", "a", 1), _event("a2", "a", 2)])
    [first] = await store.inbox_pending(now, 10)
    await store.inbox_complete([Handled(first.id, [ReplayIntent("page1", "a", now)])])
    [second] = await store.inbox_pending(now, 10)
    # The intent is gone now: a second replay (a redelivered outcome) queues nothing.
    await store.inbox_complete([Handled(second.id, [ReplayIntent("page1", "a", now)])])
    replays = [item for item in await store.inbox_list() if item.kind == "replay"]
    assert len(replays) == 1
    assert replays[0].payload["botperms"] == {"replay": ["user_likes"]}
    assert await store.pending_intent("page1", "a", now=now) is None


async def test_leave_says_goodbye_only_when_there_was_a_grant(store: Store) -> None:
    await store.save_grant(
        page_id="page1",
        psid="a",
        asid="asid",
        access_token="EAAtoken0123456789",
        scopes_granted=["user_likes"],
        scopes_declined=[],
        expires_at=None,
        data_access_expires_at=None,
        flow="web",
    )
    await store.inbox_add([_event("a1", "a", 1), _event("b1", "b", 2)])
    a, b = await store.inbox_pending(NOW, 10)
    bye = {"text": "bye"}
    await store.inbox_complete(
        [
            Handled(a.id, [Leave("page1", "a", "unlinked", goodbye=bye)]),
            Handled(b.id, [Leave("page1", "b", "unlinked", goodbye=bye)]),
        ]
    )
    assert await store.active_grant("page1", "a") is None
    assert [item.psid for item in await store.outbox_list()] == ["a"]


async def test_recover_puts_processing_events_back(store: Store) -> None:
    from sqlalchemy import update

    from botperms.store.models import InboxEvent

    await store.inbox_add([_event("a"), _event("b", "other")])
    async with store.db.session() as session:
        await session.execute(update(InboxEvent).values(status="processing"))
    assert await store.inbox_recover() == 2
    assert await store.inbox_counts() == {"pending": 2}


async def test_odd_values_from_the_intake_store_on_every_backend(store: Store) -> None:
    person = {"sender": {"id": "7" * 300}, "recipient": {"id": "page1"}, "timestamp": 2**70}
    body = (
        '{"object":"page","entry":[{"id":"page1","messaging":['
        + '{"sender":{"id":"1"},"recipient":{"id":"page1"},"timestamp":1,'
        + '"message":{"mid":"m1","text":"\\ud800 lone \\u0000 nul","big":'
        + str(10**300)
        + "}},"
        + str(person).replace("'", '"')
        + "]}]}"
    )
    events = read_delivery(body.encode())
    items = [
        NewInboxItem(e.key, e.page_id, e.psid, e.kind, e.payload, e.event_time) for e in events
    ]
    assert await store.inbox_add(items) == 2
    stored = {item.kind: item for item in await store.inbox_list()}
    assert stored["message"].payload["message"]["text"] == "\ufffd lone \ufffd nul"
    assert stored["message"].payload["message"]["big"] == 10**300
    assert stored["unknown"].psid is None


async def test_concurrent_deliveries_share_commits_and_all_get_stored(store: Store) -> None:
    async def flush(batches: object) -> list[None]:
        assert isinstance(batches, list)
        await store.inbox_add([item for batch in batches for item in batch])
        return [None] * len(batches)

    intake: Batcher[list[NewInboxItem], None] = Batcher("test", flush)
    await asyncio.gather(*(intake.submit([_event(f"c{n}", f"u{n}", n)]) for n in range(60)))
    assert await store.inbox_counts() == {"pending": 60}
    assert intake.flushes < 60  # they were grouped

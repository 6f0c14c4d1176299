"""What ``botperms tokens check`` stores, on every backend: the check's verdict on each active
grant, and the "access is running out" message, queued once per grant inside the window."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from botperms.store import GrantRecord, NewInboxItem, Store

NOW = datetime.now(UTC)
WINDOW = timedelta(hours=24)
MESSAGE = {"text": "Your login runs out soon"}


async def grant(store: Store, psid: str, **overrides: Any) -> GrantRecord:
    values: dict[str, Any] = {
        "page_id": "page1",
        "psid": psid,
        "asid": f"asid-{psid}",
        "access_token": f"EAA-token-{psid}",
        "scopes_granted": ["user_likes"],
        "scopes_declined": [],
        "expires_at": NOW + timedelta(days=50),
        "data_access_expires_at": NOW + timedelta(days=80),
        "flow": "web",
    }
    values.update(overrides)
    return await store.save_grant(**values)


async def wrote(store: Store, psid: str, hours_ago: float) -> None:
    """The person wrote to the page ``hours_ago`` hours ago (opens the window)."""
    when = int((time.time() - hours_ago * 3600) * 1000)
    await store.inbox_add(
        [
            NewInboxItem(
                event_key=f"m-{psid}-{when}",
                page_id="page1",
                psid=psid,
                kind="message",
                payload={"sender": {"id": psid}, "message": {"text": "hi"}},
                event_time=when,
            )
        ]
    )


async def test_only_active_grants_are_checked_with_their_tokens(store: Store) -> None:
    await grant(store, "a")
    await grant(store, "b")
    await store.revoke_grant("page1", "b", reason="logged out")
    found = await store.grants_to_check()
    assert [(g.psid, g.access_token, g.token_check) for g in found] == [("a", "EAA-token-a", None)]
    assert "EAA-token-a" not in repr(found[0])


async def test_a_valid_token_is_refreshed_and_a_dead_one_ends_the_grant(store: Store) -> None:
    a = await grant(store, "a")
    b = await grant(store, "b")
    soon = NOW + timedelta(days=2)
    assert await store.record_token_check(
        a.id, result="valid", now=NOW, expires_at=soon, data_access_expires_at=soon
    )
    assert await store.record_token_check(
        b.id, result="invalid", now=NOW, reason="debug_token: the person removed the app"
    )
    (checked,) = await store.grants_to_check()
    assert (checked.psid, checked.token_check, checked.data_access_expires_at) == (
        "a",
        "valid",
        soon,
    )
    assert checked.token_checked_at is not None
    assert await store.active_grant("page1", "b") is None
    # A grant no longer active is not marked again.
    assert not await store.record_token_check(b.id, result="expired", now=NOW)


async def test_notify_once_inside_the_window_only(store: Store) -> None:
    inside = await grant(store, "in")
    outside = await grant(store, "out")
    await wrote(store, "in", hours_ago=2)
    await wrote(store, "out", hours_ago=30)
    notify = store.notify_expiring
    assert await notify(outside.id, message=MESSAGE, now=NOW, window=WINDOW) == (
        "outside the 24-hour window"
    )
    assert await notify(inside.id, message=MESSAGE, now=NOW, window=WINDOW) == "notified"
    assert await notify(inside.id, message=MESSAGE, now=NOW, window=WINDOW) == "already notified"
    queued = await store.outbox_list()
    assert [(item.psid, item.payload, item.status) for item in queued] == [
        ("in", MESSAGE, "pending")
    ]
    (checked, _) = sorted(await store.grants_to_check(), key=lambda g: g.psid)
    assert checked.expiry_notified_at is not None


async def test_two_runs_at_once_queue_one_message(store: Store) -> None:
    person = await grant(store, "a")
    await wrote(store, "a", hours_ago=1)
    results = await asyncio.gather(
        *(
            store.notify_expiring(person.id, message=MESSAGE, now=NOW, window=WINDOW)
            for _ in range(4)
        )
    )
    assert sorted(results) == ["already notified"] * 3 + ["notified"]
    assert len(await store.outbox_list()) == 1


async def test_a_grant_that_ended_is_not_notified(store: Store) -> None:
    person = await grant(store, "a")
    await wrote(store, "a", hours_ago=1)
    await store.revoke_grant("page1", "a", reason="logged out")
    assert await store.notify_expiring(person.id, message=MESSAGE, now=NOW, window=WINDOW) == (
        "gone"
    )
    assert await store.outbox_list() == []

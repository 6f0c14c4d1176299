"""Housekeeping and the queue gauges' queries, on every backend: each rule removes what it
should and nothing else, in batches, and a month of simulated traffic stays bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert

from botperms.store import PRUNE_KINDS, Database, Retention, Store
from botperms.store.models import (
    Grant,
    InboxEvent,
    LinkCode,
    LoginAttempt,
    OutboxMessage,
    PendingIntent,
    UserProfile,
)

NOW = datetime(2030, 1, 31, 12, tzinfo=UTC)
RETENTION = Retention(
    done=timedelta(days=7),
    dead=timedelta(days=30),
    grace=timedelta(hours=1),
    ticket_ttl=timedelta(minutes=15),
    link_code_ttl=timedelta(minutes=10),
    profile_ttl=timedelta(hours=24),
)


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


async def _insert(database: Database, model: type[Any], rows: list[dict[str, Any]]) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(insert(cast(Table, model.__table__)), rows)


def _inbox(n: int, status: str, when: datetime, tag: str) -> list[dict[str, Any]]:
    return [
        {
            "event_key": f"{tag}-{i}",
            "page_id": "p",
            "psid": f"u{i % 50}",
            "kind": "message",
            "payload": {"i": i},
            "standby": False,
            "event_time": _ms(when),
            "received_at": when,
            "status": status,
            "attempts": 1,
        }
        for i in range(n)
    ]


def _outbox(n: int, status: str, when: datetime) -> list[dict[str, Any]]:
    return [
        {
            "page_id": "p",
            "psid": f"u{i % 50}",
            "payload": {"text": "hi"},
            "messaging_type": "RESPONSE",
            "status": status,
            "attempts": 1,
            "next_attempt_at": when,
            "created_at": when,
        }
        for i in range(n)
    ]


async def _prune_all(store: Store, now: datetime = NOW, batch: int = 1000) -> dict[str, int]:
    return {
        kind: await store.prune(kind, RETENTION, now=now, batch_size=batch) for kind in PRUNE_KINDS
    }


async def test_done_rows_go_after_the_retention_in_batches(
    store: Store, database: Database
) -> None:
    old, fresh = NOW - timedelta(days=8), NOW - timedelta(days=6)
    await _insert(database, InboxEvent, _inbox(2500, "done", old, "old"))
    await _insert(database, InboxEvent, _inbox(30, "done", fresh, "fresh"))
    # Old but not finished: pending and dead-but-young rows are never housekeeping's.
    await _insert(database, InboxEvent, _inbox(5, "pending", old, "waiting"))
    await _insert(database, InboxEvent, _inbox(7, "failed", old, "dead"))
    await _insert(database, OutboxMessage, _outbox(1200, "sent", old))
    await _insert(database, OutboxMessage, _outbox(4, "sent", fresh))
    await _insert(database, OutboxMessage, _outbox(3, "pending", old))
    await _insert(database, OutboxMessage, _outbox(2, "dead", old))
    await _insert(database, OutboxMessage, _outbox(6, "dead", NOW - timedelta(days=31)))

    # 1000 a transaction: 2500 rows take three batches, and all of them go.
    assert await store.prune("inbox_done", RETENTION, now=NOW, batch_size=1000) == 2500
    removed = await _prune_all(store)
    assert removed["inbox_done"] == 0
    assert removed["outbox_sent"] == 1200
    assert removed["outbox_dead"] == 6
    assert removed["inbox_dead"] == 0
    assert await store.inbox_counts() == {"done": 30, "pending": 5, "failed": 7}
    assert await store.outbox_counts() == {"sent": 4, "pending": 3, "dead": 2}
    # Another pass finds nothing more.
    assert not any((await _prune_all(store)).values())


async def test_short_lived_rows_go_after_their_expiry_and_grace(
    store: Store, database: Database
) -> None:
    hour = timedelta(hours=1)
    attempt = {
        "page_id": "p",
        "psid": "u",
        "scopes": ["user_likes"],
        "flow": "web",
        "browser_hash": "b",
        "client_kind": "desktop",
    }
    await _insert(
        database,
        LoginAttempt,
        [
            # Long expired: goes.
            {**attempt, "state_hash": "gone", "ticket_id": "t1", "created_at": NOW - 3 * hour}
            | {"expires_at": NOW - 2 * hour},
            # Expired, but its ticket may still be live: kept, or the ticket could start a
            # second login once its attempt is gone.
            {**attempt, "state_hash": "ticket-live", "ticket_id": "t2"}
            | {"created_at": NOW - hour - timedelta(minutes=5), "expires_at": NOW - 2 * hour},
            {**attempt, "state_hash": "running", "ticket_id": "t3", "created_at": NOW}
            | {"expires_at": NOW + hour},
        ],
    )
    code = {"grant_id": 1, "page_id": "p", "psid": "u", "created_at": NOW - 3 * hour}
    await _insert(
        database,
        LinkCode,
        [
            {**code, "code_hash": "old", "expires_at": NOW - 2 * hour},
            {**code, "code_hash": "young", "expires_at": NOW - timedelta(minutes=30)},
        ],
    )
    grant = {
        "page_id": "p",
        "asid": "a",
        "token_ciphertext": "x",
        "scopes_granted": [],
        "scopes_declined": [],
        "flow": "account_link",
        "updated_at": NOW,
    }
    await _insert(
        database,
        Grant,
        [
            {**grant, "psid": "never-linked", "status": "pending", "created_at": NOW - 2 * hour},
            {**grant, "psid": "linking-now", "status": "pending", "created_at": NOW},
            {**grant, "psid": "linked", "status": "active", "created_at": NOW - 48 * hour},
        ],
    )
    intent = {"page_id": "p", "scopes": ["user_likes"], "event": {}, "asks": 1}
    await _insert(
        database,
        PendingIntent,
        [
            {**intent, "psid": "u1", "created_at": NOW - 2 * hour, "expires_at": NOW - hour},
            {**intent, "psid": "u2", "created_at": NOW, "expires_at": NOW + hour},
        ],
    )
    profile = {"page_id": "p", "data": {"first_name": "A"}}
    await _insert(
        database,
        UserProfile,
        [
            {**profile, "psid": "stale", "fetched_at": NOW - 25 * hour},
            {**profile, "psid": "cached", "fetched_at": NOW - hour},
        ],
    )

    removed = await _prune_all(store, batch=1)
    assert removed == {
        "login_attempts": 1,
        "link_codes": 1,
        "pending_grants": 1,
        "intents": 1,
        "profiles": 1,
        "inbox_done": 0,
        "inbox_dead": 0,
        "outbox_sent": 0,
        "outbox_dead": 0,
    }
    assert await store.get_attempt("gone") is None
    assert await store.get_attempt("ticket-live") is not None
    assert await store.get_attempt("running") is not None
    assert await store.pending_intent("p", "u2", now=NOW) is not None
    assert await store.cached_profile("p", "cached", max_age=RETENTION.profile_ttl, now=NOW)
    sizes = await store.table_sizes()
    assert sizes["grants"] == 2
    assert sizes["link_codes"] == 1
    assert sizes["user_profiles"] == 1


async def test_a_month_of_traffic_stays_bounded(store: Store, database: Database) -> None:
    """Soak: each simulated day brings 300 handled events and 300 sent messages, then the
    daily pass runs. The tables level off at the retention's worth of days and stay there."""
    per_day, days = 300, 30
    start = NOW - timedelta(days=days)
    sizes: list[tuple[int, int]] = []
    for day in range(days):
        today = start + timedelta(days=day)
        await _insert(database, InboxEvent, _inbox(per_day, "done", today, f"d{day}"))
        await _insert(database, OutboxMessage, _outbox(per_day, "sent", today))
        await _prune_all(store, now=today + timedelta(hours=1), batch=250)
        table = await store.table_sizes()
        sizes.append((table["inbox"], table["outbox"]))
    # After each pass: today's rows and the six days before (7 days' retention).
    bound = 7 * per_day
    assert max(max(pair) for pair in sizes) <= bound
    assert sizes[-1] == sizes[-10] == (bound, bound)  # level, not growing


async def test_queue_stats_read_depth_age_and_dead_letters(
    store: Store, database: Database
) -> None:
    await _insert(database, InboxEvent, _inbox(3, "pending", NOW - timedelta(seconds=90), "a"))
    await _insert(database, InboxEvent, _inbox(2, "failed", NOW, "b"))
    await _insert(database, InboxEvent, _inbox(9, "done", NOW, "c"))
    await _insert(database, OutboxMessage, _outbox(2, "pending", NOW - timedelta(seconds=40)))
    await _insert(database, OutboxMessage, _outbox(1, "dead", NOW))
    await _insert(database, OutboxMessage, _outbox(5, "sent", NOW))
    other = _outbox(2, "dead", NOW)
    for row in other:
        row["page_id"] = "q"
    await _insert(database, OutboxMessage, other)

    stats = await store.queue_stats(now=NOW)
    assert stats.inbox == {"pending": 3, "failed": 2}
    assert stats.outbox == {("pending", "p"): 2, ("dead", "p"): 1, ("dead", "q"): 2}
    assert stats.dead_letters() == {"p": 1, "q": 2}
    assert round(stats.oldest_pending["inbox"]) == 90
    assert round(stats.oldest_pending["outbox"]) == 40

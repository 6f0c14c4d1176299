"""Erasing a person, on every backend: nothing of them is left, nobody else is touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from botperms.store import NewInboxItem, Store
from botperms.store.deletion import asid_hash
from botperms.store.models import (
    DeletionRequest,
    Grant,
    InboxEvent,
    LinkCode,
    LoginAttempt,
    MessengerUser,
    OutboxMessage,
    PendingIntent,
)

LATER = datetime(2031, 1, 1, tzinfo=UTC)
TABLES = (Grant, LinkCode, PendingIntent, LoginAttempt, InboxEvent, OutboxMessage, MessengerUser)


async def _person(store: Store, page_id: str, psid: str, asid: str | None) -> None:
    await store.upsert_user(page_id, psid, asid=asid, first_name="Name")
    grant = await store.save_grant(
        page_id=page_id,
        psid=psid,
        asid=asid,
        access_token=f"token-{psid}",
        scopes_granted=["user_likes"],
        scopes_declined=[],
        expires_at=None,
        data_access_expires_at=None,
        flow="account_link",
        status="pending",
    )
    await store.create_link_code(
        code=f"code-{psid}", grant_id=grant.id, page_id=page_id, psid=psid, expires_at=LATER
    )
    await store.save_pending_intent(
        page_id=page_id, psid=psid, scopes=["user_likes"], event={"x": 1}, expires_at=LATER
    )
    await store.create_attempt(
        state_hash=f"state-{psid}",
        ticket_id=f"ticket-{psid}",
        page_id=page_id,
        psid=psid,
        scopes=["user_likes"],
        flow="web",
        auth_type=None,
        linking_redirect_uri=None,
        code_verifier="v",
        browser_hash="b",
        client_kind="desktop",
        expires_at=LATER,
    )
    await store.inbox_add(
        [
            NewInboxItem(
                event_key=f"m-{psid}",
                page_id=page_id,
                psid=psid,
                kind="message",
                payload={"text": "hi"},
                event_time=1,
            )
        ]
    )
    await store.outbox_add(page_id, psid, {"text": "hello"})


async def _rows(store: Store, page_id: str, psid: str) -> dict[str, int]:
    counts = {}
    async with store.db.session() as session:
        for table in TABLES:
            counts[table.__tablename__] = int(
                await session.scalar(
                    select(func.count()).where(table.page_id == page_id, table.psid == psid)
                )
                or 0
            )
    return counts


async def test_erasing_removes_every_row_of_the_person_on_every_page(store: Store) -> None:
    await _person(store, "page1", "alice-1", "alice")
    await _person(store, "page2", "alice-2", "alice")
    await _person(store, "page1", "bob-1", "bob")
    # History (a replaced grant) goes too.
    await store.save_grant(
        page_id="page1",
        psid="alice-1",
        asid="alice",
        access_token="t",
        scopes_granted=[],
        scopes_declined=[],
        expires_at=None,
        data_access_expires_at=None,
        flow="web",
    )
    erased = await store.erase_person("alice")
    assert erased["grants"] == 3
    assert erased["messenger_users"] == 2
    assert erased["inbox"] == 2
    assert erased["outbox"] == 2
    assert erased["link_codes"] == 2
    for page_id, psid in (("page1", "alice-1"), ("page2", "alice-2")):
        assert set((await _rows(store, page_id, psid)).values()) == {0}
    assert set((await _rows(store, "page1", "bob-1")).values()) == {1}


async def test_erasing_someone_we_never_knew_finds_nothing(store: Store) -> None:
    await _person(store, "page1", "bob-1", "bob")
    erased = await store.erase_person("stranger")
    assert set(erased.values()) == {0}
    assert set((await _rows(store, "page1", "bob-1")).values()) == {1}


async def test_a_person_without_an_asid_is_not_found_by_asid(store: Store) -> None:
    # Messaged the page but never logged in: there is no ASID to find them by.
    await store.upsert_user("page1", "carol-1")
    erased = await store.erase_person("carol")
    assert erased["messenger_users"] == 0


async def test_the_deletion_record_keeps_the_counts_not_the_person(store: Store) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    record = await store.create_deletion_request(code="abc123", asid="alice", erased={"grants": 2})
    assert record.status == "done"
    assert record.erased == {"grants": 2}
    found = await store.deletion_request("abc123")
    assert found == record
    assert found.created_at >= before
    assert await store.deletion_request("nope") is None
    async with store.db.session() as session:
        row = await session.get(DeletionRequest, "abc123")
    assert row is not None
    assert row.asid_hash == asid_hash("alice")
    assert "alice" not in row.asid_hash

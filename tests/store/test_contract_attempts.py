"""Login attempts: single-use tickets and states, even under races, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from botperms.store import (
    AttemptAlreadyConsumed,
    Database,
    LoginAttemptRecord,
    Store,
    StoreError,
    TicketAlreadyUsed,
    TokenCipher,
)

VERIFIER = "pkce-verifier-" + "v" * 50
EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


async def _create(store: Store, **overrides: Any) -> None:
    values: dict[str, Any] = {
        "state_hash": "a" * 64,
        "ticket_id": "ticket-1",
        "page_id": "page1",
        "psid": "psid1",
        "scopes": ["user_likes"],
        "flow": "web",
        "auth_type": None,
        "linking_redirect_uri": None,
        "code_verifier": VERIFIER,
        "browser_hash": "b" * 64,
        "client_kind": "mobile",
        "expires_at": EXPIRES,
    }
    values.update(overrides)
    await store.create_attempt(**values)


async def test_create_then_read(store: Store) -> None:
    await _create(store, auth_type="rerequest", linking_redirect_uri="https://facebook.com/x")
    found = await store.get_attempt("a" * 64)
    assert found is not None
    assert (found.ticket_id, found.scopes, found.code_verifier) == (
        "ticket-1",
        ("user_likes",),
        VERIFIER,
    )
    assert found.auth_type == "rerequest"
    assert found.expires_at == EXPIRES
    assert found.consumed_at is None
    assert found.outcome is None
    assert VERIFIER not in repr(found)
    assert await store.get_attempt("unknown") is None


async def test_a_ticket_starts_one_attempt_only(store: Store) -> None:
    await _create(store)
    with pytest.raises(TicketAlreadyUsed):
        await _create(store, state_hash="c" * 64)
    with pytest.raises(StoreError):
        await _create(store, ticket_id="ticket-2")


async def test_ticket_conflict_inside_a_callers_transaction_keeps_it_usable(
    store: Store, database: Database
) -> None:
    await _create(store)
    async with database.session() as session:
        with pytest.raises(TicketAlreadyUsed):
            await _create(store, state_hash="c" * 64, session=session)
        await store.upsert_user("page1", "psid1", session=session)


async def test_consume_returns_the_verifier_once_and_then_forgets_it(store: Store) -> None:
    await _create(store)
    now = datetime(2029, 1, 1, tzinfo=UTC)
    consumed = await store.consume_attempt("a" * 64, now)
    assert consumed is not None
    assert consumed.code_verifier == VERIFIER
    assert consumed.consumed_at == now
    after = await store.get_attempt("a" * 64)
    assert after is not None
    assert after.code_verifier is None
    assert after.consumed_at == now
    with pytest.raises(AttemptAlreadyConsumed):
        await store.consume_attempt("a" * 64, now)
    assert await store.consume_attempt("unknown", now) is None


async def test_finish_records_the_outcome(store: Store) -> None:
    await _create(store)
    await store.finish_attempt("a" * 64, "failed:denied_scopes")
    found = await store.get_attempt("a" * 64)
    assert found is not None
    assert found.outcome == "failed:denied_scopes"


async def test_the_verifier_is_encrypted_at_rest(store: Store, database: Database) -> None:
    await _create(store)
    async with database.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM login_attempts"))).all()
    assert rows
    assert VERIFIER not in repr(rows)


async def test_delete_expired_attempts(store: Store) -> None:
    await _create(store, expires_at=EXPIRES)
    await _create(store, state_hash="c" * 64, ticket_id="t2", expires_at=EXPIRES + timedelta(1))
    assert await store.delete_expired_attempts(EXPIRES + timedelta(hours=1)) == 1
    assert await store.get_attempt("a" * 64) is None


async def test_many_concurrent_consumers_exactly_one_wins(
    backend_url: str, database: Database, cipher: TokenCipher
) -> None:
    await _create(Store(database, cipher))
    # Several engines, as several worker processes would have, all racing for one state.
    others = [Database(backend_url) for _ in range(3)]
    stores = [Store(db, cipher) for db in [database, *others]]
    now = datetime(2029, 1, 1, tzinfo=UTC)
    try:
        results = await asyncio.gather(
            *(stores[n % len(stores)].consume_attempt("a" * 64, now) for n in range(24)),
            return_exceptions=True,
        )
    finally:
        for db in others:
            await db.dispose()
    winners = [r for r in results if isinstance(r, LoginAttemptRecord)]
    losers = [r for r in results if isinstance(r, AttemptAlreadyConsumed)]
    assert len(winners) == 1
    assert winners[0].code_verifier == VERIFIER
    assert len(losers) == 23, [r for r in results if not isinstance(r, LoginAttemptRecord)]

"""Users and grants, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from botperms.store import Database, GrantRecord, Store, TokenCipher, TokenDecryptError, new_key
from botperms.store.models import Grant, MessengerUser

TOKEN = "EAAB-very-secret-user-token-0123456789"


async def _save(store: Store, token: str = TOKEN, **overrides: Any) -> GrantRecord:
    values: dict[str, Any] = {
        "page_id": "page1",
        "psid": "psid1",
        "asid": "asid1",
        "access_token": token,
        "scopes_granted": ["public_profile", "user_likes"],
        "scopes_declined": ["email"],
        "expires_at": datetime(2031, 1, 1, 12, tzinfo=UTC),
        "data_access_expires_at": None,
        "flow": "web",
    }
    values.update(overrides)
    return await store.save_grant(**values)


async def test_save_and_read_back_the_active_grant(store: Store) -> None:
    saved = await _save(store)
    found = await store.active_grant("page1", "psid1")
    assert found == saved
    assert found.access_token == TOKEN
    assert found.scopes_granted == ("public_profile", "user_likes")
    assert found.scopes_declined == ("email",)
    assert found.has_scopes("user_likes")
    assert not found.has_scopes("user_likes", "email")
    assert found.expires_at == datetime(2031, 1, 1, 12, tzinfo=UTC)
    assert found.created_at.tzinfo is not None
    assert found.created_at.utcoffset() == timedelta(0)
    assert await store.active_grant("page1", "someone-else") is None


async def test_datetimes_in_other_zones_come_back_as_the_same_instant_in_utc(store: Store) -> None:
    paris = datetime(2030, 6, 1, 14, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    await _save(store, expires_at=paris)
    found = await store.active_grant("page1", "psid1")
    assert found is not None
    assert found.expires_at == paris
    assert found.expires_at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await _save(store, expires_at=datetime(2030, 1, 1))


async def test_a_new_grant_replaces_the_active_one(store: Store, database: Database) -> None:
    first = await _save(store, token="first-token")
    second = await _save(store, token="second-token", scopes_granted=["email"])
    active = await store.active_grant("page1", "psid1")
    assert active is not None
    assert active.id == second.id
    assert active.access_token == "second-token"
    async with database.session() as session:
        rows = (await session.execute(select(Grant.id, Grant.status))).all()
    statuses = {grant_id: status for grant_id, status in rows}
    assert statuses == {first.id: "replaced", second.id: "active"}


async def test_at_most_one_active_grant_is_enforced_by_the_schema(database: Database) -> None:
    row = "('p', 's', 'x', '[]', '[]', 'active', 'web', :now, :now)"
    statement = text(
        "INSERT INTO grants (page_id, psid, token_ciphertext, scopes_granted, scopes_declined,"
        f" status, flow, created_at, updated_at) VALUES {row}"
    )
    now = datetime.now(UTC)
    async with database.session() as session:
        await session.execute(statement, {"now": now})
    with pytest.raises(Exception, match=r"(?i)unique"):
        async with database.session() as session:
            await session.execute(statement, {"now": now})


async def test_revoke_returns_the_revoked_grant(store: Store) -> None:
    saved = await _save(store)
    revoked = await store.revoke_grant("page1", "psid1", reason="user logged out")
    assert revoked is not None
    assert revoked.id == saved.id
    assert revoked.status == "revoked"
    assert revoked.revoke_reason == "user logged out"
    assert revoked.access_token == TOKEN
    assert await store.active_grant("page1", "psid1") is None
    assert await store.revoke_grant("page1", "psid1", reason="again") is None


async def test_expire_grant_and_lookup_by_asid(store: Store) -> None:
    await _save(store)
    await _save(store, psid="psid2", token="t2")
    assert [g.psid for g in await store.grants_by_asid("asid1")] == ["psid1", "psid2"]
    expired = await store.expire_grant("page1", "psid1", reason="190")
    assert expired is not None
    assert expired.status == "expired"
    assert expired.is_expired
    assert [g.psid for g in await store.grants_by_asid("asid1")] == ["psid2"]


async def test_the_database_never_sees_the_plaintext_token(
    store: Store, database: Database
) -> None:
    await _save(store)
    async with database.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM grants"))).all()
    assert rows
    assert TOKEN not in repr(rows)


async def test_key_rotation_keeps_old_tokens_readable_and_moves_them(database: Database) -> None:
    old_key, new = new_key(), new_key()
    await _save(Store(database, TokenCipher([old_key])))
    rotated_store = Store(database, TokenCipher([new, old_key]))
    assert (await rotated_store.active_grant("page1", "psid1")) is not None
    assert await rotated_store.reencrypt_tokens() == 1
    only_new = Store(database, TokenCipher([new]))
    found = await only_new.active_grant("page1", "psid1")
    assert found is not None
    assert found.access_token == TOKEN
    with pytest.raises(TokenDecryptError):
        await Store(database, TokenCipher([old_key])).active_grant("page1", "psid1")


async def test_upsert_user_keeps_known_fields(store: Store, database: Database) -> None:
    await store.upsert_user("page1", "psid1", first_name="Ada", locale="en_GB")
    await store.upsert_user("page1", "psid1", asid="asid1")
    await store.upsert_user("page1", "psid1", locale="fr_FR")
    async with database.session() as session:
        user = await session.get(MessengerUser, ("page1", "psid1"))
        assert user is not None
        assert (user.asid, user.first_name, user.locale) == ("asid1", "Ada", "fr_FR")
        assert user.updated_at >= user.created_at


async def test_calls_can_share_one_transaction(store: Store, database: Database) -> None:
    class Abort(Exception):
        pass

    async def save_then_abort() -> None:
        async with database.session() as session:
            await store.upsert_user("page1", "psid1", session=session)
            await _save(store, session=session)
            raise Abort

    with pytest.raises(Abort):
        await save_then_abort()
    assert await store.active_grant("page1", "psid1") is None

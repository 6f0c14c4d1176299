"""Account-linking codes, pending grants and cancelled attempts, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from botperms.store import GrantRecord, LinkCodeRefused, Store
from botperms.store.models import LinkCode

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)


async def _pending(store: Store, psid: str = "psid1", **overrides: Any) -> GrantRecord:
    values: dict[str, Any] = {
        "page_id": "page1",
        "psid": psid,
        "asid": "asid1",
        "access_token": f"token-of-{psid}",
        "scopes_granted": ["user_likes"],
        "scopes_declined": [],
        "expires_at": None,
        "data_access_expires_at": None,
        "flow": "account_link",
        "status": "pending",
    }
    values.update(overrides)
    return await store.save_grant(**values)


async def _issue(store: Store, grant: GrantRecord, code: str = "code-1") -> None:
    await store.create_link_code(
        code=code, grant_id=grant.id, page_id=grant.page_id, psid=grant.psid, expires_at=LATER
    )


async def test_a_pending_grant_is_not_active_and_replaces_nothing(store: Store) -> None:
    active = await _pending(store, status="active", flow="web", access_token="old")
    pending = await _pending(store)
    assert pending.status == "pending"
    still = await store.active_grant("page1", "psid1")
    assert still is not None
    assert still.id == active.id


async def test_confirming_a_code_activates_its_grant_and_replaces_the_old_one(store: Store) -> None:
    old = await _pending(store, status="active", flow="web", access_token="old")
    pending = await _pending(store)
    await _issue(store, pending)
    confirmed = await store.confirm_link(code="code-1", page_id="page1", psid="psid1", now=NOW)
    assert confirmed.id == pending.id
    assert confirmed.status == "active"
    active = await store.active_grant("page1", "psid1")
    assert active is not None
    assert active.id == pending.id
    assert active.access_token == "token-of-psid1"
    assert old.id != active.id


async def test_the_code_is_stored_hashed(store: Store) -> None:
    await _issue(store, await _pending(store), code="plain-code-value")
    async with store.db.session() as session:
        hashes = list(await session.scalars(select(LinkCode.code_hash)))
    assert hashes
    assert "plain-code-value" not in hashes[0]
    assert len(hashes[0]) == 64


@pytest.mark.parametrize(
    ("code", "page_id", "psid", "now", "reason"),
    [
        ("never-issued", "page1", "psid1", NOW, "unknown"),
        ("code-1", "page1", "someone-else", NOW, "mismatch"),
        ("code-1", "other-page", "psid1", NOW, "mismatch"),
        ("code-1", "page1", "psid1", LATER, "expired"),
    ],
)
async def test_refused_codes_confirm_nothing(
    store: Store, code: str, page_id: str, psid: str, now: datetime, reason: str
) -> None:
    await _issue(store, await _pending(store))
    with pytest.raises(LinkCodeRefused) as refused:
        await store.confirm_link(code=code, page_id=page_id, psid=psid, now=now)
    assert refused.value.reason == reason
    assert await store.active_grant("page1", "psid1") is None


async def test_a_mismatched_attempt_does_not_spoil_the_code_for_its_owner(store: Store) -> None:
    await _issue(store, await _pending(store))
    with pytest.raises(LinkCodeRefused):
        await store.confirm_link(code="code-1", page_id="page1", psid="intruder", now=NOW)
    confirmed = await store.confirm_link(code="code-1", page_id="page1", psid="psid1", now=NOW)
    assert confirmed.status == "active"


async def test_a_code_confirms_once(store: Store) -> None:
    await _issue(store, await _pending(store))
    await store.confirm_link(code="code-1", page_id="page1", psid="psid1", now=NOW)
    with pytest.raises(LinkCodeRefused) as refused:
        await store.confirm_link(code="code-1", page_id="page1", psid="psid1", now=NOW)
    assert refused.value.reason == "used"


async def test_racing_confirmations_let_exactly_one_through(store: Store) -> None:
    await _issue(store, await _pending(store))

    async def confirm() -> str:
        try:
            await store.confirm_link(code="code-1", page_id="page1", psid="psid1", now=NOW)
        except LinkCodeRefused as exc:
            return exc.reason
        return "ok"

    results = await asyncio.gather(*(confirm() for _ in range(5)))
    assert sorted(results) == ["ok", "used", "used", "used", "used"]


async def test_revoking_during_linking_ends_the_pending_grant_and_refuses_its_code(
    store: Store,
) -> None:
    await _issue(store, await _pending(store))
    assert await store.revoke_grant("page1", "psid1", reason="unlinked") is None
    with pytest.raises(LinkCodeRefused) as refused:
        await store.confirm_link(code="code-1", page_id="page1", psid="psid1", now=NOW)
    assert refused.value.reason == "revoked"
    assert await store.active_grant("page1", "psid1") is None


async def test_revoke_by_asid_ends_active_and_pending_grants_of_every_page(store: Store) -> None:
    await _pending(store, psid="a", status="active")
    await _pending(store, psid="b", page_id="page2", status="active")
    await _pending(store, psid="c")
    await _pending(store, psid="d", asid="someone-else", status="active")
    revoked = await store.revoke_grants_by_asid("asid1", reason="deauthorized")
    assert sorted(g.psid for g in revoked) == ["a", "b", "c"]
    assert {g.status for g in revoked} == {"revoked"}
    assert {g.revoke_reason for g in revoked} == {"deauthorized"}
    assert await store.active_grant("page1", "a") is None
    assert await store.active_grant("page1", "d") is not None


async def test_cancelled_attempts_are_refused_as_used(store: Store) -> None:
    from botperms.store import AttemptAlreadyConsumed

    for state, psid in (("s1", "psid1"), ("s2", "psid1"), ("s3", "other")):
        await store.create_attempt(
            state_hash=state,
            ticket_id=f"t-{state}",
            page_id="page1",
            psid=psid,
            scopes=["user_likes"],
            flow="account_link",
            auth_type=None,
            linking_redirect_uri="https://www.facebook.com/messenger_platform/account_linking/",
            code_verifier="verifier",
            browser_hash="b",
            client_kind="phone",
            expires_at=LATER,
        )
    assert await store.cancel_attempts("page1", "psid1", reason="unlinked") == 2
    with pytest.raises(AttemptAlreadyConsumed):
        await store.consume_attempt("s1", NOW)
    cancelled = await store.get_attempt("s2")
    assert cancelled is not None
    assert cancelled.outcome == "cancelled:unlinked"
    assert await store.consume_attempt("s3", NOW) is not None

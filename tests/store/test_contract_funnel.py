"""The login funnel's counts, on every backend: bumped in the step's own transaction (so a
step that rolls back counts nothing), summed per day, shared by every Store over one database,
and mirrored to Prometheus only once committed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from botperms.metrics import LOGIN_FUNNEL
from botperms.store import Database, LoginCancelled, Store, TicketAlreadyUsed, TokenCipher
from botperms.store.funnel import FunnelStep, bump
from botperms.store.models import LoginFunnel

EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


def metric(step: FunnelStep) -> float:
    value = LOGIN_FUNNEL.labels(step.flow, step.client_kind, step.step, step.reason)
    return float(value._value.get())


def attempt(state: str, ticket: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "state_hash": state * 64,
        "ticket_id": ticket,
        "page_id": "page1",
        "psid": "psid1",
        "scopes": ["user_likes"],
        "flow": "web",
        "auth_type": None,
        "linking_redirect_uri": None,
        "code_verifier": "v" * 64,
        "browser_hash": "b" * 64,
        "client_kind": "phone",
        "expires_at": EXPIRES,
    }
    values.update(overrides)
    return values


def login(state: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "state_hash": state * 64,
        "page_id": "page1",
        "psid": "psid1",
        "asid": "asid1",
        "access_token": "EAA-token",
        "scopes_granted": ["public_profile"],
        "scopes_declined": ["user_likes"],
        "expires_at": None,
        "data_access_expires_at": None,
        "flow": "web",
        "requested": ["user_likes"],
    }
    values.update(overrides)
    return values


def counts(rows: list[Any]) -> dict[tuple[str, str, str, str], int]:
    return {(r.flow, r.client_kind, r.step, r.reason): r.count for r in rows}


async def test_counts_add_up_per_key_and_survive_a_new_store(
    database: Database, cipher: TokenCipher, backend_url: str
) -> None:
    store = Store(database, cipher)
    opened = FunnelStep("web", "desktop", "link_opened")
    failed = FunnelStep("web", "desktop", "failed", "state_expired")
    await store.count_funnel(opened)
    await store.count_funnel(opened, failed)
    # Another process: its own engine on the same database sees (and adds to) the same rows.
    other = Database(backend_url)
    try:
        again = Store(other, cipher)
        await again.count_funnel(opened)
        found = counts(await again.funnel_counts())
    finally:
        await other.dispose()
    assert found == {
        ("web", "desktop", "link_opened", ""): 3,
        ("web", "desktop", "failed", "state_expired"): 1,
    }


async def test_concurrent_bumps_lose_nothing(store: Store) -> None:
    step = FunnelStep("account_link", "messenger_app", "dialog_reached")
    await asyncio.gather(*(store.count_funnel(step) for _ in range(20)))
    assert counts(await store.funnel_counts()) == {
        ("account_link", "messenger_app", "dialog_reached", ""): 20
    }


async def test_since_leaves_out_older_days(store: Store) -> None:
    today = datetime.now(UTC)
    async with store.db.session() as tx:
        await bump(tx, [FunnelStep("web", "phone", "granted")], now=today - timedelta(days=9))
        await bump(tx, [FunnelStep("web", "phone", "granted")], now=today - timedelta(days=2))
        await bump(tx, [FunnelStep("web", "phone", "granted")], now=today)
    week = counts(await store.funnel_counts(since=(today - timedelta(days=6)).date()))
    assert week == {("web", "phone", "granted", ""): 2}
    assert counts(await store.funnel_counts())[("web", "phone", "granted", "")] == 3


async def test_dialog_reached_counts_only_with_a_stored_attempt(store: Store) -> None:
    reached = FunnelStep("web", "phone", "dialog_reached")
    await store.start_attempt(funnel=reached, **attempt("a", "ticket-1"))
    with pytest.raises(TicketAlreadyUsed):
        await store.start_attempt(funnel=reached, **attempt("b", "ticket-1"))
    assert await store.get_attempt("a" * 64) is not None
    assert counts(await store.funnel_counts()) == {("web", "phone", "dialog_reached", ""): 1}


async def test_a_login_and_its_count_commit_together_or_not_at_all(store: Store) -> None:
    await store.create_attempt(**attempt("a", "ticket-1"))
    declined = FunnelStep("web", "phone", "declined", "user_likes")
    back = FunnelStep("web", "phone", "back_in_messenger")
    await store.record_login(**login("a"), funnel=[declined, back])

    await store.create_attempt(**attempt("c", "ticket-2"))
    await store.cancel_attempts("page1", "psid1", reason="unlinked")
    with pytest.raises(LoginCancelled):
        await store.record_login(**login("c"), funnel=[FunnelStep("web", "phone", "granted")])
    await store.record_login_failure(
        state_hash=None,
        page_id="page1",
        psid="psid1",
        reason="ticket_expired",
        key="ticket:x",
        funnel=[FunnelStep("web", "desktop", "failed", "ticket_expired")],
    )
    assert counts(await store.funnel_counts()) == {
        ("web", "phone", "declined", "user_likes"): 1,
        ("web", "phone", "back_in_messenger", ""): 1,
        ("web", "desktop", "failed", "ticket_expired"): 1,
    }


async def test_a_confirmed_link_is_back_in_messenger_with_the_logins_client_kind(
    store: Store,
) -> None:
    await store.create_attempt(**attempt("a", "link:1", flow="account_link", client_kind="desktop"))
    grant = await store.record_login(
        **login("a", flow="account_link"),
        link_code="the-code",
        link_code_expires_at=EXPIRES,
        funnel=[FunnelStep("account_link", "desktop", "declined", "user_likes")],
    )
    assert grant.status == "pending"
    assert ("account_link", "desktop", "back_in_messenger", "") not in counts(
        await store.funnel_counts()
    )
    await store.confirm_link_and_announce(
        code="the-code", page_id="page1", psid="psid1", now=datetime.now(UTC)
    )
    found = counts(await store.funnel_counts())
    assert found[("account_link", "desktop", "back_in_messenger", "")] == 1


async def test_prometheus_follows_the_commit_not_the_attempt(store: Store) -> None:
    step = FunnelStep("web", "desktop", "failed", "prometheus_probe")
    start = metric(step)

    async def fails_after_the_bump() -> None:
        async with store.db.session() as tx:
            await bump(tx, [step])
            raise RuntimeError("the step's transaction fails after the bump")

    with pytest.raises(RuntimeError):
        await fails_after_the_bump()
    assert metric(step) == start
    async with store.db.session() as tx:
        await bump(tx, [step])
        # A savepoint released in between is not the commit.
        async with tx.begin_nested():
            await tx.execute(update(LoginFunnel).where(LoginFunnel.step == "none").values(count=0))
        assert metric(step) == start
    assert metric(step) == start + 1
    assert counts(await store.funnel_counts()) == {
        ("web", "desktop", "failed", "prometheus_probe"): 1
    }


def test_a_step_outside_the_funnel_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown funnel step"):
        FunnelStep("web", "desktop", "visited")

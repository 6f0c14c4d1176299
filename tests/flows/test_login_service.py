"""``LoginService`` with a controllable clock, fakebook in-process as Facebook (ASGITransport)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from botperms.config import Settings
from botperms.flows import FailureReason, FlowError, LoginService, TicketSigner
from botperms.graph import GraphClient
from botperms.store import Database, GrantRecord, Store, TokenCipher
from fakebook.app import create_app as create_fakebook
from fakebook.config import FakebookConfig
from tests.e2e.forms import parse_forms
from tests.flows.conftest import APP_SECRET, make_settings

FAKEBOOK = "https://fakebook.invalid"
UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"


@dataclass
class Listener:
    """What the login service queued for the bot: login outcome events in the inbox."""

    store: Store
    wakes: list[None] = field(default_factory=list)

    def __call__(self, _page_id: str, _psid: str) -> None:
        self.wakes.append(None)

    async def _outcomes(self, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [
            (item.page_id, item.psid or "", item.payload["botperms"])
            for item in await self.store.inbox_list()
            if item.kind == "login" and item.payload["botperms"]["login"] == kind
        ]

    async def succeeded(self) -> list[tuple[str, tuple[str, ...]]]:
        return [
            (psid, tuple(data["requested"])) for _, psid, data in await self._outcomes("succeeded")
        ]

    async def failed(self) -> list[tuple[str, str, FailureReason]]:
        return [
            (page_id, psid, FailureReason(data["reason"]))
            for page_id, psid, data in await self._outcomes("failed")
        ]


@dataclass
class Harness:
    settings: Settings
    service: LoginService
    store: Store
    listener: Listener
    http: httpx.AsyncClient
    now: list[datetime]
    db_path: Path
    psid: str


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    settings = make_settings(tmp_path, graph_url=FAKEBOOK, www_url=FAKEBOOK)
    fakebook = create_fakebook(
        FakebookConfig(
            app_id=settings.app_id,
            app_secret=APP_SECRET,
            page_id=settings.page_id,
            page_token=settings.page_token.get_secret_value(),
            valid_redirect_uris=[settings.url("/auth/callback")],
            public_url=FAKEBOOK,
        )
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fakebook), base_url=FAKEBOOK)
    database = Database(settings.database_url)
    await database.migrate()
    store = Store(database, TokenCipher([settings.token_keys[0].get_secret_value()]))
    now = [datetime.now(UTC)]
    listener = Listener(store)
    service = LoginService(
        settings,
        GraphClient.from_settings(settings, http=http),
        store,
        TicketSigner(APP_SECRET, settings.ticket_ttl_seconds),
        on_event_queued=listener,
        clock=lambda: now[0],
    )
    people = (await http.get("/_fakebook/people")).json()
    try:
        yield Harness(
            settings, service, store, listener, http, now, tmp_path / "bot.db", people[0]["psid"]
        )
    finally:
        await http.aclose()
        await database.dispose()


async def through_dialog(h: Harness, dialog_url: str, *, grant: tuple[str, ...]) -> dict[str, str]:
    """Plays the person in fakebook's dialog; returns the callback's query parameters."""
    page = await h.http.get(dialog_url)
    form = parse_forms(page.text)[0]
    data: dict[str, list[str]] = {name: [value] for name, value in form.fields}
    data["person"] = [h.psid]
    data["scopes"] = list(grant)
    data["action"] = ["continue"]
    answer = await h.http.post(dialog_url, data=data)
    assert answer.status_code in (302, 303), answer.text
    location = answer.headers["location"]
    assert location.startswith(h.settings.url("/auth/callback"))
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def begin(h: Harness, nonce: str = "browser-1") -> str:
    url = h.service.login_url(h.settings.page_id, h.psid, ("user_likes",))
    ticket = parse_qs(urlsplit(url).query)["ticket"][0]
    started = await h.service.begin(ticket, browser_nonce=nonce, user_agent=UA)
    assert started.browser_nonce == nonce
    return started.dialog_url


def verifier_columns(h: Harness) -> list[tuple[object, ...]]:
    with sqlite3.connect(h.db_path) as db:
        return db.execute("SELECT verifier_ciphertext, outcome FROM login_attempts").fetchall()


async def test_login_stores_grant_and_clears_the_verifier(harness: Harness) -> None:
    h = harness
    params = await through_dialog(h, await begin(h), grant=("user_likes",))
    (verifier, outcome) = verifier_columns(h)[0]
    assert verifier is not None  # stored encrypted until the callback
    assert outcome is None
    done = await h.service.callback(params, browser_nonce="browser-1", user_agent=UA)
    assert done.grant.has_scopes("user_likes")
    assert done.declined == ()
    assert verifier_columns(h) == [(None, "granted")]
    assert [psid for psid, _ in await h.listener.succeeded()] == [h.psid]
    assert len(h.listener.wakes) == 1
    active = await h.store.active_grant(h.settings.page_id, h.psid)
    assert active is not None
    assert active.asid == done.grant.asid
    # Long-lived: fakebook's long-lived tokens last ~60 days, short ones two hours.
    assert active.expires_at is not None
    assert active.expires_at - datetime.now(UTC) > timedelta(days=50)


async def test_state_expires(harness: Harness) -> None:
    h = harness
    params = await through_dialog(h, await begin(h), grant=("user_likes",))
    h.now[0] += timedelta(seconds=h.settings.state_ttl_seconds + 1)
    with pytest.raises(FlowError) as info:
        await h.service.callback(params, browser_nonce="browser-1", user_agent=UA)
    assert info.value.reason is FailureReason.STATE_EXPIRED
    assert await h.store.active_grant(h.settings.page_id, h.psid) is None
    assert verifier_columns(h) == [(None, "failed:state_expired")]
    assert await h.listener.failed() == [(h.settings.page_id, h.psid, FailureReason.STATE_EXPIRED)]


async def test_declined_scope_is_recorded(harness: Harness) -> None:
    h = harness
    params = await through_dialog(h, await begin(h), grant=("public_profile",))
    done = await h.service.callback(params, browser_nonce="browser-1", user_agent=UA)
    assert done.declined == ("user_likes",)
    assert "user_likes" in done.grant.scopes_declined
    assert (await h.listener.succeeded())[0][1] == ("user_likes",)


async def test_wrong_browser_nonce(harness: Harness) -> None:
    h = harness
    params = await through_dialog(h, await begin(h), grant=("user_likes",))
    with pytest.raises(FlowError) as info:
        await h.service.callback(params, browser_nonce="someone-else", user_agent=UA)
    assert info.value.reason is FailureReason.BROWSER_MISMATCH
    # And the state is used up: the right browser cannot finish it afterwards either.
    with pytest.raises(FlowError) as again:
        await h.service.callback(params, browser_nonce="browser-1", user_agent=UA)
    assert again.value.reason is FailureReason.STATE_USED
    assert await h.store.active_grant(h.settings.page_id, h.psid) is None


async def test_code_of_another_login_is_refused_by_pkce(harness: Harness) -> None:
    h = harness
    first = await through_dialog(h, await begin(h, "b1"), grant=("user_likes",))
    second = await through_dialog(h, await begin(h, "b2"), grant=("user_likes",))
    # An attacker swaps in the code from another login: the verifier no longer matches.
    mixed = {"state": second["state"], "code": first["code"]}
    with pytest.raises(FlowError) as info:
        await h.service.callback(mixed, browser_nonce="b2", user_agent=UA)
    assert info.value.reason is FailureReason.GRAPH_ERROR
    assert await h.store.active_grant(h.settings.page_id, h.psid) is None


async def test_a_storage_failure_saves_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botperms.store import StorageUnavailable

    h = harness
    params = await through_dialog(h, await begin(h), grant=("user_likes",))

    async def disk_full(*args: object, **kwargs: object) -> GrantRecord:
        raise StorageUnavailable("the database is unavailable (database or disk is full)")

    monkeypatch.setattr(h.store, "save_grant", disk_full)
    with pytest.raises(FlowError) as info:
        await h.service.callback(params, browser_nonce="browser-1", user_agent=UA)
    assert info.value.reason is FailureReason.STORAGE_ERROR
    assert info.value.http_status == 503
    with sqlite3.connect(h.db_path) as db:
        # The person's row written just before in the same transaction was rolled back too.
        assert db.execute("SELECT COUNT(*) FROM messenger_users").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM grants").fetchone() == (0,)
    assert await h.listener.failed() == [(h.settings.page_id, h.psid, FailureReason.STORAGE_ERROR)]

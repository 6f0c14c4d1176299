"""Account linking through ``LinkingService`` and ``LoginService``, fakebook in-process as
Facebook (ASGITransport), with the clocks of both sides under the test's control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from botperms.config import Settings
from botperms.flows import (
    FailureReason,
    FlowError,
    LinkAborted,
    LinkingService,
    LoginService,
    LoginStart,
    TicketSigner,
)
from botperms.graph import GraphClient
from botperms.store import Database, LinkCodeRefused, Store, TokenCipher
from fakebook.app import create_app as create_fakebook
from fakebook.config import FakebookConfig
from tests.flows.conftest import APP_SECRET, make_settings
from tests.flows.test_login_service import Listener, through_dialog

FAKEBOOK = "https://fakebook.invalid"
PHONE = "Mozilla/5.0 (iPhone) Mobile/15E148 [FBAN/MessengerForiOS;FBAV/466.0.0.41.109]"


@dataclass
class Linking:
    settings: Settings
    linking: LinkingService
    login: LoginService
    store: Store
    listener: Listener
    http: httpx.AsyncClient
    bot_now: list[datetime]
    fb_now: list[float]
    psid: str
    psid_of_other: str

    async def tap(self, psid: str | None = None) -> dict[str, str]:
        """What Messenger appends to our URL when the account_link button is tapped."""
        minted = await self.http.post(f"/_fakebook/linking/{psid or self.psid}/token")
        assert minted.status_code == 200, minted.text
        body = minted.json()
        return {
            "account_linking_token": body["account_linking_token"],
            "redirect_uri": body["redirect_uri"],
        }

    async def start(self, params: dict[str, str], nonce: str = "browser-1") -> LoginStart:
        started = await self.linking.begin(params, browser_nonce=nonce, user_agent=PHONE)
        assert isinstance(started, LoginStart), started
        return started


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Linking]:
    settings = make_settings(
        tmp_path, graph_url=FAKEBOOK, www_url=FAKEBOOK, login_flow="account_link"
    )
    fb_now = [datetime.now(UTC).timestamp()]
    fakebook = create_fakebook(
        FakebookConfig(
            app_id=settings.app_id,
            app_secret=APP_SECRET,
            page_id=settings.page_id,
            page_token=settings.page_token.get_secret_value(),
            valid_redirect_uris=[settings.url("/auth/callback")],
            public_url=FAKEBOOK,
        ),
        clock=lambda: fb_now[0],
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fakebook), base_url=FAKEBOOK)
    database = Database(settings.database_url)
    await database.migrate()
    store = Store(database, TokenCipher([settings.token_keys[0].get_secret_value()]))
    graph = GraphClient.from_settings(settings, http=http)
    bot_now = [datetime.now(UTC)]
    listener = Listener(store)
    login = LoginService(
        settings,
        graph,
        store,
        TicketSigner(APP_SECRET, settings.ticket_ttl_seconds),
        on_event_queued=listener,
        clock=lambda: bot_now[0],
    )
    linking = LinkingService(settings, graph, store, login)
    people = (await http.get("/_fakebook/people")).json()
    try:
        yield Linking(
            settings, linking, login, store, listener, http, bot_now, fb_now,
            people[0]["psid"], people[1]["psid"],
        )  # fmt: skip
    finally:
        await http.aclose()
        await database.dispose()


def _person_of(h: Linking) -> Any:
    # through_dialog plays "the person"; it only needs .psid, .http and .settings.
    return h


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def test_linking_issues_a_code_for_a_pending_grant_that_confirm_activates(
    h: Linking,
) -> None:
    params = await h.tap()
    started = await h.start(params)
    dialog = _query(started.dialog_url)
    assert dialog["redirect_uri"] == [h.settings.url("/auth/callback")]
    assert dialog["scope"] == ["user_likes"]
    callback = await through_dialog(_person_of(h), started.dialog_url, grant=("user_likes",))
    done = await h.login.callback(callback, browser_nonce="browser-1", user_agent=PHONE)

    assert done.link_redirect is not None
    back = urlsplit(done.link_redirect)
    redirect = urlsplit(params["redirect_uri"])
    assert (back.scheme, back.netloc, back.path) == (
        redirect.scheme,
        redirect.netloc,
        redirect.path,
    )
    query = _query(done.link_redirect)
    assert query["account_linking_token"] == [params["account_linking_token"]]
    code = query["authorization_code"][0]
    assert len(code) >= 32

    # Pending until Messenger's `linked` webhook: no active grant, no "logged in" announcement.
    assert done.grant.status == "pending"
    assert await h.store.active_grant(h.settings.page_id, h.psid) is None
    assert await h.listener.succeeded() == []
    confirmed = await h.store.confirm_link(
        code=code, page_id=h.settings.page_id, psid=h.psid, now=h.bot_now[0]
    )
    assert confirmed.id == done.grant.id
    assert (await h.store.active_grant(h.settings.page_id, h.psid)) is not None


async def test_the_psid_comes_from_facebook_not_from_the_url(h: Linking) -> None:
    params = await h.tap(h.psid_of_other)
    params["psid"] = h.psid  # anything the URL says about who this is is ignored
    started = await h.start(params)
    callback = await through_dialog(_person_of(h), started.dialog_url, grant=("user_likes",))
    done = await h.login.callback(callback, browser_nonce="browser-1", user_agent=PHONE)
    assert done.grant.psid == h.psid_of_other


async def test_an_unknown_linking_token_goes_back_without_a_code(h: Linking) -> None:
    params = await h.tap()
    params["account_linking_token"] = "ARTnot-a-real-token"
    outcome = await h.linking.begin(params, browser_nonce="b", user_agent=PHONE)
    assert isinstance(outcome, LinkAborted)
    assert outcome.redirect_url == params["redirect_uri"]
    assert "authorization_code" not in outcome.redirect_url


async def test_an_expired_linking_token_goes_back_without_a_code(h: Linking) -> None:
    params = await h.tap()
    h.fb_now[0] += 301  # Messenger's token lives five minutes
    outcome = await h.linking.begin(params, browser_nonce="b", user_agent=PHONE)
    assert isinstance(outcome, LinkAborted)
    assert "expired" in outcome.reason


async def test_a_missing_linking_token_goes_back_without_a_code(h: Linking) -> None:
    params = await h.tap()
    del params["account_linking_token"]
    outcome = await h.linking.begin(params, browser_nonce="b", user_agent=PHONE)
    assert isinstance(outcome, LinkAborted)


async def test_a_linking_token_starts_one_login_only(h: Linking) -> None:
    params = await h.tap()
    await h.start(params)
    again = await h.linking.begin(params, browser_nonce="b", user_agent=PHONE)
    assert isinstance(again, LinkAborted)
    assert "used before" in again.reason


async def test_a_foreign_redirect_uri_is_refused_before_anything_else(h: Linking) -> None:
    params = await h.tap()
    params["redirect_uri"] = "https://evil.example/steal"
    with pytest.raises(FlowError) as refused:
        await h.linking.begin(params, browser_nonce="b", user_agent=PHONE)
    assert refused.value.reason is FailureReason.LINK_REDIRECT_INVALID
    assert refused.value.link_redirect is None


async def test_a_login_past_messengers_window_goes_back_without_a_code(h: Linking) -> None:
    params = await h.tap()
    started = await h.start(params)
    callback = await through_dialog(_person_of(h), started.dialog_url, grant=("user_likes",))
    h.bot_now[0] += timedelta(seconds=h.settings.link_window_seconds + 1)
    with pytest.raises(FlowError) as late:
        await h.login.callback(callback, browser_nonce="browser-1", user_agent=PHONE)
    assert late.value.reason is FailureReason.STATE_EXPIRED
    assert late.value.link_redirect == params["redirect_uri"]
    assert await h.store.active_grant(h.settings.page_id, h.psid) is None


async def test_cancel_in_the_dialog_goes_back_without_a_code(h: Linking) -> None:
    params = await h.tap()
    started = await h.start(params)
    page = await h.http.get(started.dialog_url)
    assert page.status_code == 200
    denied = {
        "error": "access_denied",
        "error_reason": "user_denied",
        "state": _query(started.dialog_url)["state"][0],
    }
    with pytest.raises(FlowError) as cancelled:
        await h.login.callback(denied, browser_nonce="browser-1", user_agent=PHONE)
    assert cancelled.value.reason is FailureReason.ACCESS_DENIED
    assert cancelled.value.link_redirect == params["redirect_uri"]


async def test_unlinking_before_the_callback_cancels_the_login(h: Linking) -> None:
    params = await h.tap()
    started = await h.start(params)
    callback = await through_dialog(_person_of(h), started.dialog_url, grant=("user_likes",))
    assert await h.store.cancel_attempts(h.settings.page_id, h.psid, reason="unlinked") == 1
    with pytest.raises(FlowError) as cancelled:
        await h.login.callback(callback, browser_nonce="browser-1", user_agent=PHONE)
    assert cancelled.value.reason is FailureReason.LOGIN_CANCELLED
    assert cancelled.value.link_redirect == params["redirect_uri"]
    assert await h.store.active_grant(h.settings.page_id, h.psid) is None
    assert (
        await h.listener.failed() == []
    )  # the person cancelled: no "something went wrong" message


async def test_unlinking_during_the_code_exchange_stores_nothing(
    h: Linking, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botperms.flows.login_callback as login_module

    real = login_module.get_permissions

    async def unlink_meanwhile(*args: Any, **kwargs: Any) -> Any:
        answer = await real(*args, **kwargs)
        await h.store.cancel_attempts(h.settings.page_id, h.psid, reason="unlinked")
        return answer

    monkeypatch.setattr(login_module, "get_permissions", unlink_meanwhile)
    params = await h.tap()
    started = await h.start(params)
    callback = await through_dialog(_person_of(h), started.dialog_url, grant=("user_likes",))
    with pytest.raises(FlowError) as cancelled:
        await h.login.callback(callback, browser_nonce="browser-1", user_agent=PHONE)
    assert cancelled.value.reason is FailureReason.LOGIN_CANCELLED
    async with h.store.db.session() as session:
        from sqlalchemy import func, select

        from botperms.store.models import Grant, LinkCode

        assert await session.scalar(select(func.count()).select_from(Grant)) == 0
        assert await session.scalar(select(func.count()).select_from(LinkCode)) == 0


async def test_a_code_from_one_person_does_not_confirm_another(h: Linking) -> None:
    params = await h.tap()
    started = await h.start(params)
    callback = await through_dialog(_person_of(h), started.dialog_url, grant=("user_likes",))
    done = await h.login.callback(callback, browser_nonce="browser-1", user_agent=PHONE)
    assert done.link_redirect is not None
    code = _query(done.link_redirect)["authorization_code"][0]
    with pytest.raises(LinkCodeRefused) as refused:
        await h.store.confirm_link(
            code=code, page_id=h.settings.page_id, psid=h.psid_of_other, now=h.bot_now[0]
        )
    assert refused.value.reason == "mismatch"


async def test_requested_scopes_and_rerequest_pass_through(h: Linking) -> None:
    params = await h.tap()
    params.update({"scope": "user_likes,email", "auth_type": "rerequest"})
    started = await h.start(params)
    dialog = _query(started.dialog_url)
    assert dialog["scope"] == ["user_likes,email"]
    assert dialog["auth_type"] == ["rerequest"]


async def test_unknown_auth_types_and_bad_scopes_fall_back_to_defaults(h: Linking) -> None:
    params = await h.tap()
    params.update({"scope": "user_likes;drop table", "auth_type": "reauthenticate"})
    started = await h.start(params)
    dialog = _query(started.dialog_url)
    assert dialog["scope"] == ["user_likes"]
    assert "auth_type" not in dialog


async def test_a_full_disk_at_link_start_goes_back_without_a_code(
    h: Linking, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botperms.store import StorageUnavailable

    async def disk_full(*args: object, **kwargs: object) -> None:
        raise StorageUnavailable("the database is unavailable (database or disk is full)")

    monkeypatch.setattr(h.store, "create_attempt", disk_full)
    params = await h.tap()
    outcome = await h.linking.begin(params, browser_nonce="b", user_agent=PHONE)
    assert isinstance(outcome, LinkAborted)
    assert outcome.redirect_url == params["redirect_uri"]
    assert "disk is full" in outcome.reason


async def test_facebook_failing_the_psid_look_up_goes_back_without_a_code(h: Linking) -> None:
    params = await h.tap()
    fault = {"code": 2, "message": "Service temporarily unavailable", "http_status": 500}
    armed = await h.http.post(
        "/_fakebook/faults", json={"path_contains": "/me", "error": fault, "times": None}
    )
    assert armed.status_code in (200, 201), armed.text
    outcome = await h.linking.begin(params, browser_nonce="b", user_agent=PHONE)
    assert isinstance(outcome, LinkAborted)
    assert "PSID look-up failed" in outcome.reason

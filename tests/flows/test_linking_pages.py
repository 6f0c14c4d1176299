"""Account linking on a page added with ``botperms pages``: the link URL names the page, that
page's token resolves the person, and the grant is the person's on that page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from botperms.flows import LinkAborted, LinkingService, LoginService, LoginStart, TicketSigner
from botperms.graph import GraphClient
from botperms.store import Database, PageDirectory, Store, TokenCipher
from fakebook.app import create_app as create_fakebook
from fakebook.config import FakebookConfig, PageConfig
from tests.flows.conftest import APP_SECRET, make_settings
from tests.flows.test_linking_service import FAKEBOOK, PHONE, Linking, _person_of
from tests.flows.test_login_service import Listener, through_dialog

SECOND_ID = "4000000000000004"
SECOND_TOKEN = "EAAlinkingsecondpagetoken0123456789"


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
            extra_pages=[PageConfig(id=SECOND_ID, name="Second", token=SECOND_TOKEN)],
            valid_redirect_uris=[settings.url("/auth/callback")],
            public_url=FAKEBOOK,
        ),
        clock=lambda: fb_now[0],
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fakebook), base_url=FAKEBOOK)
    database = Database(settings.database_url)
    await database.migrate()
    store = Store(database, TokenCipher([settings.token_keys[0].get_secret_value()]))
    await store.page_save(SECOND_ID, "Second", SECOND_TOKEN, ["messages"])
    first_token = settings.page_token.get_secret_value()
    pages = PageDirectory(store, shortcut={settings.page_id: first_token})
    graph = GraphClient.from_settings(settings, http=http)
    bot_now = [datetime.now(UTC)]
    listener = Listener(store)
    tickets = TicketSigner(APP_SECRET, settings.ticket_ttl_seconds)
    login = LoginService(
        settings, graph, store, tickets, on_event_queued=listener, clock=lambda: bot_now[0]
    )
    linking = LinkingService(settings, graph, store, login, pages=pages)
    people = (await http.get("/_fakebook/people")).json()
    try:
        yield Linking(
            settings, linking, login, store, listener, http, bot_now, fb_now,
            people[0]["psid"], people[1]["psid"],
        )  # fmt: skip
    finally:
        await http.aclose()
        await database.dispose()


async def tap_on(h: Linking, page_id: str) -> dict[str, str]:
    minted = await h.http.post(f"/_fakebook/linking/{h.psid}/token", params={"page": page_id})
    assert minted.status_code == 200, minted.text
    body = minted.json()
    return {key: body[key] for key in ("account_linking_token", "redirect_uri")}


async def test_linking_on_a_second_page_grants_on_that_page(h: Linking) -> None:
    params = {**await tap_on(h, SECOND_ID), "page_id": SECOND_ID}
    started = await h.linking.begin(params, browser_nonce="browser-1", user_agent=PHONE)
    assert isinstance(started, LoginStart), started
    callback = await through_dialog(_person_of(h), started.dialog_url, grant=("user_likes",))
    done = await h.login.callback(callback, browser_nonce="browser-1", user_agent=PHONE)
    assert (done.grant.page_id, done.grant.psid) == (SECOND_ID, h.psid)


async def test_the_token_of_the_wrong_page_or_an_unknown_page_goes_back_without_a_code(
    h: Linking,
) -> None:
    # Tapped on the second page, but the URL names no page: the settings' page token
    # cannot resolve it, as on Facebook.
    wrong = await h.linking.begin(await tap_on(h, SECOND_ID), browser_nonce="b", user_agent=PHONE)
    assert isinstance(wrong, LinkAborted)
    assert "expired or unknown" in wrong.reason
    unknown = await h.linking.begin(
        {**await tap_on(h, SECOND_ID), "page_id": "999"}, browser_nonce="b", user_agent=PHONE
    )
    assert isinstance(unknown, LinkAborted)
    assert unknown.reason == "unknown page 999"
    assert "authorization_code" not in unknown.redirect_url

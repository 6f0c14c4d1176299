"""Every way a login can go wrong, over real HTTP: a clear page, a message where we know the
PSID, and nothing half-stored."""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from botperms.flows import TicketSigner
from tests.e2e.conftest import APP_SECRET, PAGE_ID, Stack
from tests.e2e.forms import parse_forms
from tests.e2e.person import DESKTOP_CHROME, Person, button_urls
from tests.e2e.test_login_flow import grants, prompt_url

HEADERS = {"User-Agent": DESKTOP_CHROME}


def attempts(stack: Stack) -> list[tuple[Any, ...]]:
    with sqlite3.connect(stack.db_path) as db:
        return db.execute(
            "SELECT outcome, consumed_at IS NOT NULL, verifier_ciphertext IS NULL "
            "FROM login_attempts ORDER BY created_at"
        ).fetchall()


async def test_replayed_callback_is_refused_and_changes_nothing(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    dialog = await person.start(await prompt_url(person), user_agent=DESKTOP_CHROME)
    callback = await person.use_dialog(dialog, HEADERS)
    first = await client.get(callback, headers=HEADERS)
    assert first.status_code == 200
    replay = await client.get(callback, headers=HEADERS)
    assert replay.status_code == 409
    assert "state_used" in replay.text
    assert [row[2] for row in grants(stack)] == ["active"]
    # The PKCE verifier was cleared when the state was used: nothing left to replay with.
    assert attempts(stack) == [("granted", 1, 1)]


async def test_callback_in_another_browser_is_refused(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    dialog = await person.start(url, user_agent=DESKTOP_CHROME)
    callback = await person.use_dialog(dialog, HEADERS)
    before = len(await person.received())
    async with httpx.AsyncClient() as stranger:  # no cookie from /auth/start
        page = await stranger.get(callback, headers=HEADERS)
    assert page.status_code == 400
    assert "browser_mismatch" in page.text
    assert grants(stack) == []
    assert attempts(stack)[0][0] == "failed:browser_mismatch"
    reply = await person.wait_for_reply(before, "a message about the failed login")
    assert button_urls(reply), "the person gets a fresh login button"


async def test_callback_with_unknown_or_missing_state(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    base = f"{stack.bot.url}/auth/callback"
    unknown = await client.get(base, params={"code": "x", "state": "made-up"}, headers=HEADERS)
    assert unknown.status_code == 401
    assert "state_invalid" in unknown.text
    missing = await client.get(base, params={"code": "x"}, headers=HEADERS)
    assert missing.status_code == 400
    assert "state_missing" in missing.text
    assert grants(stack) == []


@pytest.mark.parametrize("ticket", ["", "garbage", "eyJwIjoiMSJ9.forged.sig"])
async def test_forged_or_missing_ticket(
    stack: Stack, client: httpx.AsyncClient, ticket: str
) -> None:
    page = await client.get(
        f"{stack.bot.url}/auth/start", params={"ticket": ticket}, headers=HEADERS
    )
    assert page.status_code == 400
    assert "ticket_invalid" in page.text
    assert "Back to Messenger" in page.text


async def test_ticket_signed_with_another_secret_is_refused(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    forged = TicketSigner("not-our-secret", 600).issue(PAGE_ID, person.psid, ["user_likes"])
    page = await client.get(f"{stack.bot.url}/auth/start", params={"ticket": forged})
    assert page.status_code == 400
    assert attempts(stack) == []


async def test_used_ticket_is_refused_and_a_fresh_link_is_sent(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    confirm = await client.get(url, headers=HEADERS)  # a second tab, opened before the login
    form = parse_forms(confirm.text)[0]
    await person.start(url, user_agent=DESKTOP_CHROME)
    before = len(await person.received())
    # Opened again: the "already used" page at once, not a confirm page that can only fail.
    reopened = await client.get(url, headers=HEADERS)
    assert reopened.status_code == 409
    assert "ticket_used" in reopened.text
    assert "already used" in reopened.text
    assert parse_forms(reopened.text) == []
    # The confirm page of the second tab is refused too.
    again = await client.post(url.split("?")[0], data=dict(form.fields), headers=HEADERS)
    assert again.status_code == 409
    assert "ticket_used" in again.text
    reply = await person.wait_for_reply(before, "a fresh link")
    (fresh,) = button_urls(reply)
    assert fresh != url


async def test_expired_ticket_is_refused_and_a_fresh_link_is_sent(
    stack: Stack, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import itsdangerous.timed as timed

    person = await Person.pick(stack, client)
    await person.say_and_wait("hi")  # opens the 24-hour window, as a real person would have
    real_time = timed.time.time
    monkeypatch.setattr(timed.time, "time", lambda: real_time() - 3600)
    old = TicketSigner(APP_SECRET, 900).issue(PAGE_ID, person.psid, ["user_likes"])
    monkeypatch.setattr(timed.time, "time", real_time)
    before = len(await person.received())
    page = await client.get(f"{stack.bot.url}/auth/start", params={"ticket": old}, headers=HEADERS)
    assert page.status_code == 410
    assert "ticket_expired" in page.text
    reply = await person.wait_for_reply(before, "a fresh link")
    assert button_urls(reply)


async def test_confirm_form_posted_from_elsewhere_is_refused(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    confirm = await client.get(url, headers=HEADERS)
    form = dict(parse_forms(confirm.text)[0].fields)
    async with httpx.AsyncClient() as other_site:  # a cross-site POST carries no Lax cookie
        refused = await other_site.post(url.split("?")[0], data=form, headers=HEADERS)
    assert refused.status_code == 400
    assert attempts(stack) == []
    forged = dict(form, form_token="0" * 64)
    refused = await client.post(url.split("?")[0], data=forged, headers=HEADERS)
    assert refused.status_code == 400
    assert attempts(stack) == []


async def test_graph_error_during_the_exchange_stores_nothing(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    fault = {
        "path_contains": "/oauth/access_token",
        "error": {"code": 1, "message": "An unknown error occurred", "http_status": 500},
        "times": 10,
    }
    assert (await client.post(f"{stack.fb}/_fakebook/faults", json=fault)).status_code == 200
    before = len(await person.received())
    page = await person.open_login(url, user_agent=DESKTOP_CHROME)
    assert page.status_code == 502
    assert "graph_error" in page.text
    assert grants(stack) == []
    assert attempts(stack)[0][0] == "failed:graph_error"
    reply = await person.wait_for_reply(before, "the failure message")
    assert "went wrong" in reply["attachment"]["payload"]["text"]


async def test_an_invalid_token_from_facebook_is_refused(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    fault = {
        "path_contains": "/debug_token",
        "error": {"code": 190, "message": "Invalid OAuth access token.", "http_status": 400},
        "times": 10,
    }
    await client.post(f"{stack.fb}/_fakebook/faults", json=fault)
    page = await person.open_login(url, user_agent=DESKTOP_CHROME)
    assert page.status_code == 502
    assert "token_invalid" in page.text
    assert grants(stack) == []


async def test_error_pages_never_show_tokens_or_secrets(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    dialog = await person.start(url, user_agent=DESKTOP_CHROME)
    callback = await person.use_dialog(dialog, HEADERS)
    await client.get(callback, headers=HEADERS)
    replay = await client.get(callback, headers=HEADERS)
    code = dict(p.split("=", 1) for p in urlsplit(callback).query.split("&"))["code"]
    for secret in (code, APP_SECRET, stack.settings.page_token.get_secret_value()):
        assert secret not in replay.text


async def test_redelivered_webhook_gets_one_answer(stack: Stack, client: httpx.AsyncClient) -> None:
    import json
    import time

    from botperms.messenger import sign_body

    person = await Person.pick(stack, client)
    await person.say_and_wait("hi")  # the window is open
    count = len(await person.received())
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "time": 1,
                    "messaging": [
                        {
                            "sender": {"id": person.psid},
                            "recipient": {"id": PAGE_ID},
                            "timestamp": int(time.time() * 1000),
                            "message": {"mid": "m_redelivered", "text": "likes"},
                        }
                    ],
                }
            ],
        }
    ).encode()
    headers = {
        "X-Hub-Signature-256": sign_body(APP_SECRET, body),
        "Content-Type": "application/json",
    }
    for _ in range(3):
        response = await client.post(f"{stack.bot.url}/webhook", content=body, headers=headers)
        assert response.status_code == 200
    await person.wait_for_reply(count, "the one answer")
    # A later, different message is answered after it: if the redeliveries had been handled,
    # their answers would sit between the two.
    await person.say_and_wait("hello")
    assert len(await person.received()) == count + 2

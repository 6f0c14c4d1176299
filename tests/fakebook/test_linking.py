"""Account linking in fakebook: tokens, the PSID look-up, the redirect target, unlinking."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from fakebook import create_app
from tests.fakebook.fbtesting import (
    ALICE_PSID,
    APP_SECRET,
    BASE,
    BOB_PSID,
    FB,
    PAGE_ID,
    PAGE_TOKEN,
    Clock,
    Receiver,
    make_config,
    proof,
)

REDIRECT = "/messenger_platform/account_linking/"


async def mint(fb: FB, psid: str = ALICE_PSID, **body: Any) -> dict[str, Any]:
    answer = await fb.client.post(f"/_fakebook/linking/{psid}/token", json=body or None)
    assert answer.status_code == 200, answer.text
    minted: dict[str, Any] = answer.json()
    return minted


async def look_up(
    fb: FB, linking_token: str, token: str | None = PAGE_TOKEN, **params: Any
) -> httpx.Response:
    params.setdefault("fields", "recipient")
    return await fb.graph("GET", "me", token, account_linking_token=linking_token, **params)


async def outcomes(fb: FB, psid: str = ALICE_PSID) -> list[dict[str, Any]]:
    answer = await fb.client.get(f"/_fakebook/linking/{psid}")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


async def finish_deliveries(app: Starlette) -> None:
    await app.state.deliverer.drain()


def events(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(body)["entry"][0]["messaging"][0] for body in receiver.bodies]


def error_of(answer: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = answer.json()["error"]
    return error


# --- tokens -------------------------------------------------------------------------------


async def test_minted_tokens_are_long_url_safe_and_unique(fb: FB) -> None:
    first, second = await mint(fb), await mint(fb)
    token = first["account_linking_token"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{64,}", token)
    assert token != second["account_linking_token"]
    assert first["redirect_uri"] == f"{BASE}{REDIRECT}?account_linking_token={token}"
    assert first["expires_at"] == int((fb.clock.now + 300) * 1000)


async def test_button_url_gets_token_and_redirect_uri_appended(fb: FB) -> None:
    minted = await mint(fb, url="https://bot.test/link/start?scope=user_likes#top")
    split = urlsplit(minted["url"])
    assert (split.scheme, split.netloc, split.path, split.fragment) == (
        "https",
        "bot.test",
        "/link/start",
        "top",
    )
    query = parse_qs(split.query)
    assert query == {
        "scope": ["user_likes"],
        "account_linking_token": [minted["account_linking_token"]],
        "redirect_uri": [minted["redirect_uri"]],
    }


async def test_mint_refuses_unknown_person_and_bad_url(fb: FB) -> None:
    assert (await fb.client.post("/_fakebook/linking/123/token")).status_code == 404
    bad = await fb.client.post(
        f"/_fakebook/linking/{ALICE_PSID}/token", json={"url": "javascript:alert(1)"}
    )
    assert bad.status_code == 400
    assert (await fb.client.get("/_fakebook/linking/123")).status_code == 404


# --- the PSID look-up ---------------------------------------------------------------------


async def test_psid_lookup_answers_page_and_psid(fb: FB) -> None:
    token = (await mint(fb, BOB_PSID))["account_linking_token"]
    answer = await look_up(fb, token)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": PAGE_ID, "recipient": BOB_PSID}
    with_name = await look_up(fb, token, fields="recipient,name")
    assert with_name.json() == {"id": PAGE_ID, "recipient": BOB_PSID, "name": "Test Page"}
    bogus = await look_up(fb, token, fields="recipient,email")
    assert error_of(bogus)["code"] == 100


async def test_psid_lookup_expires_after_five_minutes(fb: FB) -> None:
    token = (await mint(fb))["account_linking_token"]
    fb.clock.advance(299.5)
    assert (await look_up(fb, token)).status_code == 200
    fb.clock.advance(0.5)
    expired = await look_up(fb, token)
    assert expired.status_code == 400
    error = error_of(expired)
    assert error["code"] == 10301
    assert error["type"] == "OAuthException"
    assert "fbtrace_id" in error


async def test_token_ttl_is_configurable(receiver: Receiver, clock: Clock) -> None:
    app = create_app(
        make_config(account_linking_token_ttl=30),
        webhook_transport=httpx.MockTransport(receiver.handle),
        clock=clock,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        fb = FB(http, clock)
        token = (await mint(fb))["account_linking_token"]
        clock.advance(30)
        assert error_of(await look_up(fb, token))["code"] == 10301


async def test_unknown_token_is_10301(fb: FB) -> None:
    answer = await look_up(fb, "ARQnot-a-token")
    assert answer.status_code == 400
    assert error_of(answer)["code"] == 10301


async def test_psid_lookup_needs_the_page_token(fb: FB) -> None:
    token = (await mint(fb))["account_linking_token"]
    missing = await look_up(fb, token, token=None)
    assert error_of(missing)["code"] == 104
    wrong = await look_up(fb, token, token="EAAwrongtoken")
    assert error_of(wrong)["code"] == 190
    user_token = await fb.user_token()
    as_user = await look_up(fb, token, token=user_token)
    assert error_of(as_user)["code"] == 230
    no_proof = await fb.client.get(
        "/v25.0/me",
        params={"fields": "recipient", "account_linking_token": token, "access_token": PAGE_TOKEN},
    )
    assert error_of(no_proof)["code"] == 100


async def test_plain_me_is_unchanged(fb: FB) -> None:
    answer = await fb.graph("GET", "me")
    assert answer.json() == {"name": "Test Page", "id": PAGE_ID}


# --- the redirect target ------------------------------------------------------------------


async def test_redirect_with_code_records_linked_and_sends_signed_webhook(
    app: Starlette, fb: FB, receiver: Receiver, clock: Clock
) -> None:
    minted = await mint(fb)
    clock.advance(60)
    page = await fb.client.get(minted["redirect_uri"] + "&authorization_code=c0de-42")
    assert page.status_code == 200
    assert 'data-outcome="linked"' in page.text
    assert "Return to the conversation" in page.text
    await finish_deliveries(app)
    (raw,), (request,) = receiver.bodies, receiver.requests
    expected = hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert request.headers["x-hub-signature-256"] == f"sha256={expected}"
    ms = int(clock.now * 1000)
    assert json.loads(raw) == {
        "object": "page",
        "entry": [
            {
                "id": PAGE_ID,
                "time": ms,
                "messaging": [
                    {
                        "sender": {"id": ALICE_PSID},
                        "recipient": {"id": PAGE_ID},
                        "timestamp": ms,
                        "account_linking": {"status": "linked", "authorization_code": "c0de-42"},
                    }
                ],
            }
        ],
    }
    assert await outcomes(fb) == [
        {
            "status": "linked",
            "authorization_code": "c0de-42",
            "at": ms,
            "via": "redirect",
            "webhook": "delivered",
        }
    ]
    log = (await fb.client.get("/_fakebook/deliveries")).json()
    assert log[-1]["kind"] == "account_linking"


async def test_redirect_without_code_records_cancelled_and_sends_nothing(
    app: Starlette, fb: FB, receiver: Receiver
) -> None:
    minted = await mint(fb)
    page = await fb.client.get(minted["redirect_uri"])
    assert page.status_code == 200
    assert "Linking cancelled" in page.text
    await finish_deliveries(app)
    assert receiver.bodies == []
    assert [o["status"] for o in await outcomes(fb)] == ["cancelled"]
    assert (await outcomes(fb))[0]["authorization_code"] is None


async def test_replayed_redirect_is_ignored(app: Starlette, fb: FB, receiver: Receiver) -> None:
    minted = await mint(fb)
    first = await fb.client.get(minted["redirect_uri"] + "&authorization_code=one")
    assert first.status_code == 200
    again = await fb.client.get(minted["redirect_uri"] + "&authorization_code=one")
    other = await fb.client.get(minted["redirect_uri"] + "&authorization_code=two")
    assert again.status_code == other.status_code == 400
    assert "Already finished" in again.text
    await finish_deliveries(app)
    assert len(receiver.bodies) == 1
    assert [o["authorization_code"] for o in await outcomes(fb)] == ["one"]


async def test_cancelled_token_cannot_be_linked_afterwards(
    app: Starlette, fb: FB, receiver: Receiver
) -> None:
    minted = await mint(fb)
    await fb.client.get(minted["redirect_uri"])
    late = await fb.client.get(minted["redirect_uri"] + "&authorization_code=sneaky")
    assert late.status_code == 400
    await finish_deliveries(app)
    assert receiver.bodies == []
    assert [o["status"] for o in await outcomes(fb)] == ["cancelled"]


async def test_redirect_after_expiry_records_expired_and_sends_nothing(
    app: Starlette, fb: FB, receiver: Receiver, clock: Clock
) -> None:
    minted = await mint(fb)
    clock.advance(301)
    page = await fb.client.get(minted["redirect_uri"] + "&authorization_code=too-late")
    assert page.status_code == 200
    assert "expired" in page.text
    await finish_deliveries(app)
    assert receiver.bodies == []
    (outcome,) = await outcomes(fb)
    assert outcome["status"] == "expired"
    assert outcome["webhook"] is None


async def test_unknown_token_at_redirect_is_refused(fb: FB, receiver: Receiver) -> None:
    page = await fb.client.get(REDIRECT, params={"account_linking_token": "ARQforged"})
    assert page.status_code == 400
    assert "Link not valid" in page.text
    missing = await fb.client.get(REDIRECT)
    assert missing.status_code == 400
    assert await outcomes(fb) == []


async def test_failed_linked_webhook_is_reported(
    app: Starlette, fb: FB, receiver: Receiver
) -> None:
    receiver.statuses = [500] * 6
    minted = await mint(fb)
    await fb.client.get(minted["redirect_uri"] + "&authorization_code=x")
    await finish_deliveries(app)
    assert (await outcomes(fb))[0]["webhook"] == "failed"


# --- unlinking ----------------------------------------------------------------------------


async def test_unlink_api_answers_and_sends_unlinked_webhook(
    app: Starlette, fb: FB, receiver: Receiver
) -> None:
    params = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    answer = await fb.client.post(
        "/v25.0/me/unlink_accounts", params=params, json={"psid": ALICE_PSID}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"result": "unlink account success"}
    form = await fb.client.post("/v25.0/me/unlink_accounts", params=params, data={"psid": BOB_PSID})
    assert form.json() == {"result": "unlink account success"}
    await finish_deliveries(app)
    sent = events(receiver)
    assert [(e["sender"]["id"], e["account_linking"]) for e in sent] == [
        (ALICE_PSID, {"status": "unlinked"}),
        (BOB_PSID, {"status": "unlinked"}),
    ]
    for raw, request in zip(receiver.bodies, receiver.requests, strict=True):
        expected = hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert request.headers["x-hub-signature-256"] == f"sha256={expected}"
    (outcome,) = await outcomes(fb)
    assert (outcome["status"], outcome["via"], outcome["webhook"]) == (
        "unlinked",
        "api",
        "delivered",
    )


async def test_unlink_api_errors(fb: FB) -> None:
    unknown = await fb.graph("POST", "me/unlink_accounts", psid="123")
    assert (error_of(unknown)["code"], error_of(unknown)["error_subcode"]) == (100, 2018001)
    missing = await fb.graph("POST", "me/unlink_accounts")
    assert error_of(missing)["code"] == 100
    no_token = await fb.graph("POST", "me/unlink_accounts", token=None, psid=ALICE_PSID)
    assert error_of(no_token)["code"] == 104
    user_token = await fb.user_token()
    as_user = await fb.graph("POST", "me/unlink_accounts", token=user_token, psid=ALICE_PSID)
    assert error_of(as_user)["code"] == 230
    assert await outcomes(fb) == []


async def test_unlink_api_webhook_can_be_turned_off(receiver: Receiver, clock: Clock) -> None:
    app = create_app(
        make_config(unlink_api_sends_webhook=False),
        webhook_transport=httpx.MockTransport(receiver.handle),
        clock=clock,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        fb = FB(http, clock)
        answer = await fb.graph("POST", "me/unlink_accounts", psid=ALICE_PSID)
        assert answer.json() == {"result": "unlink account success"}
        await finish_deliveries(app)
        assert receiver.bodies == []
        assert [o["status"] for o in await outcomes(fb)] == ["unlinked"]


async def test_unlink_button_sends_unlinked(fb: FB, receiver: Receiver) -> None:
    answer = await fb.client.post(f"/_fakebook/linking/{ALICE_PSID}/unlink?wait=true")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["via"], body["delivery"], body["webhook_status"]) == (
        "unlinked",
        "button",
        "delivered",
        200,
    )
    assert events(receiver)[0]["account_linking"] == {"status": "unlinked"}
    assert (await fb.client.post("/_fakebook/linking/123/unlink")).status_code == 404


async def test_outcomes_are_per_person_newest_last_and_reset(
    app: Starlette, fb: FB, clock: Clock
) -> None:
    minted = await mint(fb)
    await fb.client.get(minted["redirect_uri"] + "&authorization_code=abc")
    clock.advance(10)
    await fb.client.post(f"/_fakebook/linking/{ALICE_PSID}/unlink?wait=true")
    await finish_deliveries(app)
    assert [o["status"] for o in await outcomes(fb)] == ["linked", "unlinked"]
    assert await outcomes(fb, BOB_PSID) == []
    await fb.client.post("/_fakebook/reset")
    assert await outcomes(fb) == []
    assert error_of(await look_up(fb, minted["account_linking_token"]))["code"] == 10301


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://bot.test/link", True),
        ("http://127.0.0.1:8000/link/start", True),
        ("http://localhost:8000/link/start", True),
        ("http://bot.test/link", False),
    ],
)
async def test_account_link_button_url_rule(fb: FB, url: str, accepted: bool) -> None:
    await fb.say()
    buttons = {
        "template_type": "button",
        "text": "Link your account",
        "buttons": [{"type": "account_link", "url": url}],
    }
    answer = await fb.send(
        {
            "recipient": {"id": ALICE_PSID},
            "messaging_type": "RESPONSE",
            "message": {"attachment": {"type": "template", "payload": buttons}},
        }
    )
    assert (answer.status_code == 200) is accepted, answer.text

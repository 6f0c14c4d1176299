"""Messenger Extensions shim and thread context (fakebook.sdk)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx

from fakebook.sdk import signed_request
from tests.fakebook.fbtesting import ALICE_PSID, APP_ID, APP_SECRET, PAGE_ID, Clock


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def test_script_is_served(client: httpx.AsyncClient) -> None:
    script = await client.get("/sdk/messenger.Extensions.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    for name in (
        "MessengerExtensions",
        "getSupportedFeatures",
        "requestCloseBrowser",
        "getContext",
        "extAsyncInit",
        "mx-hello",
    ):
        assert name in script.text


async def test_context_signed_request_verifies(client: httpx.AsyncClient, clock: Clock) -> None:
    answer = await client.get(f"/_fakebook/chat/{ALICE_PSID}/context", params={"app_id": APP_ID})
    context = answer.json()
    assert context["thread_type"] == "USER_TO_PAGE"
    assert context["psid"] == context["tid"] == ALICE_PSID
    signature, payload = context["signed_request"].split(".")
    assert "=" not in signature + payload
    expected = hmac.new(APP_SECRET.encode(), payload.encode(), hashlib.sha256).digest()
    assert unb64(signature) == expected
    data = json.loads(unb64(payload))
    assert data == {
        "algorithm": "HMAC-SHA256",
        "issued_at": int(clock.now),
        "page_id": int(PAGE_ID),
        "psid": ALICE_PSID,
        "thread_type": "USER_TO_PAGE",
        "tid": ALICE_PSID,
    }


async def test_context_refuses_other_app_or_person(client: httpx.AsyncClient) -> None:
    other = await client.get(f"/_fakebook/chat/{ALICE_PSID}/context", params={"app_id": "1"})
    assert other.status_code == 400
    nobody = await client.get("/_fakebook/chat/1/context", params={"app_id": APP_ID})
    assert nobody.status_code == 404


def test_signed_request_shape() -> None:
    value = signed_request("k", {"a": 1})
    signature, payload = value.split(".")
    assert json.loads(unb64(payload)) == {"a": 1}
    assert unb64(signature) == hmac.new(b"k", payload.encode(), hashlib.sha256).digest()

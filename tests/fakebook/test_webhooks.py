"""Webhook envelope, signatures, retries and ordering (fakebook.webhooks)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import httpx
import pytest
from starlette.applications import Starlette

from fakebook import create_app
from fakebook.webhooks import encode, signature_headers
from tests.fakebook.fbtesting import (
    ALICE_PSID,
    APP_SECRET,
    BOB_PSID,
    FB,
    PAGE_ID,
    Clock,
    Receiver,
    make_config,
)


async def test_envelope_and_signature_over_exact_bytes(
    fb: FB, receiver: Receiver, clock: Clock
) -> None:
    result = await fb.say(text="äöå ✓")
    assert result["webhook_status"] == 200
    assert result["delivery"] == "delivered"
    (request,), (raw,) = receiver.requests, receiver.bodies
    # Escaped unicode on the wire, as Facebook sends it.
    assert b"\\u00e4\\u00f6\\u00e5 \\u2713" in raw
    assert "ä".encode() not in raw
    expected = hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert request.headers["x-hub-signature-256"] == f"sha256={expected}"
    sha1 = hmac.new(APP_SECRET.encode(), raw, hashlib.sha1).hexdigest()
    assert request.headers["x-hub-signature"] == f"sha1={sha1}"
    assert request.headers["content-type"] == "application/json"
    payload = json.loads(raw)
    ms = int(clock.now * 1000)
    assert payload == {
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
                        "message": {"mid": result["mid"], "text": "äöå ✓"},
                    }
                ],
            }
        ],
    }
    # Re-serialising the parsed JSON differently would not match the signature.
    reencoded = json.dumps(payload, ensure_ascii=False).encode()
    assert hmac.new(APP_SECRET.encode(), reencoded, hashlib.sha256).hexdigest() != expected


def test_signature_headers_helper_and_sha1_switch() -> None:
    body = encode({"text": "å"})
    assert body == b'{"text":"\\u00e5"}'
    assert set(signature_headers("s", body, sha1=False)) == {"X-Hub-Signature-256"}


async def test_sha1_header_can_be_turned_off(receiver: Receiver) -> None:
    app = create_app(
        make_config(send_sha1_signature=False),
        webhook_transport=httpx.MockTransport(receiver.handle),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        await c.post(f"/_fakebook/chat/{ALICE_PSID}/message?wait=true", json={"text": "hi"})
    assert "x-hub-signature" not in receiver.requests[0].headers
    assert "x-hub-signature-256" in receiver.requests[0].headers


async def test_retries_identical_body_until_2xx(fb: FB, receiver: Receiver) -> None:
    receiver.statuses = [500, 503, httpx.ReadTimeout("slow")]
    result = await fb.say(text="retry me")
    assert result["delivery"] == "delivered"
    assert result["attempts"] == 4
    assert len(set(receiver.bodies)) == 1
    assert len(receiver.bodies) == 4
    signatures = {r.headers["x-hub-signature-256"] for r in receiver.requests}
    assert len(signatures) == 1


async def test_gives_up_after_bounded_retries(fb: FB, receiver: Receiver) -> None:
    receiver.statuses = [500] * 10
    result = await fb.say()
    assert result["delivery"] == "failed"
    assert result["attempts"] == 6  # the first try and webhook_retries=5
    assert result["webhook_status"] == 500
    log = (await fb.client.get("/_fakebook/deliveries")).json()
    assert log[-1]["status"] == "failed"
    assert log[-1]["error"] == "HTTP 500"
    assert log[-1]["body_sha256"] == hashlib.sha256(receiver.bodies[0]).hexdigest()


async def test_connection_error_is_reported(fb: FB, receiver: Receiver) -> None:
    receiver.statuses = [httpx.ConnectError("refused")] * 6
    result = await fb.say()
    assert result["delivery"] == "failed"
    assert result["webhook_status"] is None
    assert "ConnectError" in result["error"]


async def test_order_kept_within_a_conversation(app: Starlette, receiver: Receiver) -> None:
    gate = asyncio.Event()

    async def hold_first(request: httpx.Request) -> None:
        if b"first" in request.content:
            await gate.wait()

    receiver.before_answer = hold_first
    chat = app.state.chat
    _, first = chat.message(ALICE_PSID, "first")
    _, second = chat.message(ALICE_PSID, "second")
    _, other = chat.message(BOB_PSID, "other person")
    await other  # another conversation is not held up
    await asyncio.sleep(0.01)
    assert not second.done()
    gate.set()
    await asyncio.gather(first, second)
    texts = [json.loads(b)["entry"][0]["messaging"][0]["message"]["text"] for b in receiver.bodies]
    assert texts.index("first") < texts.index("second")
    await app.state.deliverer.aclose()


async def test_verify_handshake(fb: FB, receiver: Receiver) -> None:
    good = (await fb.client.post("/_fakebook/webhook/verify")).json()
    assert good["ok"] is True
    assert good["challenge"].isdigit()
    bad = (await fb.client.post("/_fakebook/webhook/verify", json={"verify_token": "x"})).json()
    assert bad["ok"] is False
    assert bad["status"] == 403


@pytest.mark.parametrize("webhook_url", [None])
async def test_no_webhook_url_is_skipped(webhook_url: str | None) -> None:
    app = create_app(make_config(webhook_url=webhook_url))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        sent = await c.post(f"/_fakebook/chat/{ALICE_PSID}/message?wait=1", json={"text": "hi"})
        verify = await c.post("/_fakebook/webhook/verify")
    assert sent.json()["delivery"] == "skipped"
    assert verify.json()["ok"] is False

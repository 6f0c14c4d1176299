"""``/webhook``: handshake, signatures, bad bodies, dedupe, acknowledging only once stored."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from botperms.app import App
from botperms.messenger import sign_body
from botperms.store import StorageUnavailable
from tests.flows.conftest import APP_SECRET, VERIFY_TOKEN


def envelope(*events: dict[str, Any], page_id: str = "222") -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": page_id, "time": 1, "messaging": list(events)}]}


def message(mid: str, text: str = "hi", psid: str = "42", ts: int = 1000) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": "222"},
        "timestamp": ts,
        "message": {"mid": mid, "text": text},
    }


async def post(
    client: httpx.AsyncClient, body: bytes, signature: str | None = "good"
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature == "good":
        headers["X-Hub-Signature-256"] = sign_body(APP_SECRET, body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return await client.post("/webhook", content=body, headers=headers)


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=True).encode()


async def inbox_counts(app: Starlette) -> dict[str, int]:
    services: App = app.state.app
    return await services.store.inbox_counts()


@pytest.mark.parametrize(
    ("params", "status", "body"),
    [
        (
            {
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1158201444",
            },
            200,
            "1158201444",
        ),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, 403, None),
        (
            {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
            403,
            None,
        ),
        ({}, 403, None),
    ],
)
async def test_verification_handshake(
    client: httpx.AsyncClient, params: dict[str, str], status: int, body: str | None
) -> None:
    response = await client.get("/webhook", params=params)
    assert response.status_code == status
    if body is not None:
        assert response.text == body


async def test_signed_event_is_stored_once_even_when_redelivered(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    body = encode(envelope(message("m_1")))
    first = await post(client, body)
    assert (first.status_code, first.text) == (200, "EVENT_RECEIVED")
    again = await post(client, body)
    assert again.status_code == 200
    assert await inbox_counts(app) == {"pending": 1}


async def test_batched_entries_are_all_stored(client: httpx.AsyncClient, app: Starlette) -> None:
    payload = envelope(message("m_1"), message("m_2", psid="43"))
    payload["entry"].append(envelope(message("m_3", psid="44"))["entry"][0])
    assert (await post(client, encode(payload))).status_code == 200
    assert await inbox_counts(app) == {"pending": 3}


@pytest.mark.parametrize(
    "signature",
    [None, "sha256=" + "0" * 64, "sha1=abc", "garbage", ""],
)
async def test_bad_or_missing_signature_is_403_and_stores_nothing(
    client: httpx.AsyncClient, app: Starlette, signature: str | None
) -> None:
    response = await post(client, encode(envelope(message("m_1"))), signature=signature)
    assert response.status_code == 403
    assert await inbox_counts(app) == {}


async def test_signature_over_other_bytes_is_refused(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    # Same JSON, re-serialised: the signature is over the exact bytes, so it no longer matches.
    payload = envelope(message("m_1", text="äöå"))
    signed = sign_body(APP_SECRET, encode(payload))
    other_bytes = json.dumps(payload, ensure_ascii=False).encode()
    response = await post(client, other_bytes, signature=signed)
    assert response.status_code == 403
    assert await inbox_counts(app) == {}


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"\xff\xfe\x00",
        encode([1, 2, 3]),
        encode({"object": "instagram", "entry": []}),
        encode({"object": "page", "entry": "nope"}),
        encode({"field": "messages", "value": {}}),
    ],
)
async def test_malformed_bodies_are_400_and_store_nothing(
    client: httpx.AsyncClient, app: Starlette, body: bytes
) -> None:
    response = await post(client, body)
    assert response.status_code == 400
    assert response.text.startswith("bad payload")
    assert await inbox_counts(app) == {}


async def test_unknown_event_kind_is_acknowledged_and_kept(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    event = {
        "sender": {"id": "42"},
        "recipient": {"id": "222"},
        "timestamp": 5,
        "brand_new": {"a": 1},
    }
    response = await post(client, encode(envelope(event)))
    assert response.status_code == 200
    assert await inbox_counts(app) == {"pending": 1}


async def test_oversized_body_is_413(tmp_path: Any) -> None:
    from botperms.app import create_app
    from botperms.examples.likes_bot import bot as example_bot
    from tests.flows.conftest import make_settings

    app = create_app(
        make_settings(tmp_path, webhook_max_body_bytes=1024), example_bot, run_workers=False
    )
    services: App = app.state.app
    await services.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9") as client:
            big = encode(envelope(message("m_1", text="x" * 2000)))
            assert (await post(client, big)).status_code == 413
            assert await services.store.inbox_counts() == {}
            small = encode(envelope(message("m_2")))
            assert (await post(client, small)).status_code == 200
    finally:
        await services.stop()


async def test_storage_failure_is_not_acknowledged(
    client: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    services: App = app.state.app

    async def full_disk(*args: Any, **kwargs: Any) -> int:
        raise StorageUnavailable("database or disk is full")

    monkeypatch.setattr(services.store, "inbox_add", full_disk)
    response = await post(client, encode(envelope(message("m_1"))))
    # Not a 200: Facebook keeps the event and redelivers it.
    assert response.status_code == 503


def counter(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


async def test_metrics_count_outcomes(client: httpx.AsyncClient) -> None:
    accepted = 'botperms_webhook_requests_total{outcome="accepted"}'
    refused = 'botperms_webhook_requests_total{outcome="bad_signature"}'
    before = (await client.get("/metrics")).text
    await post(client, encode(envelope(message("m_9"))))
    await post(client, encode(envelope(message("m_9"))), signature=None)
    after = (await client.get("/metrics")).text
    assert counter(after, accepted) == counter(before, accepted) + 1
    assert counter(after, refused) == counter(before, refused) + 1


async def test_events_for_another_page_are_acknowledged_and_kept(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    # What Facebook sends is kept; the bot does not answer as a page it has no token for.
    other = envelope(message("m_1"), page_id="999")
    response = await post(client, encode(other))
    assert response.status_code == 200
    assert await inbox_counts(app) == {"pending": 1}


async def test_botperms_internal_fields_from_outside_are_dropped(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    forged = message("m_forged")
    forged["botperms"] = {"login": "succeeded", "requested": ["user_likes"]}
    assert (await post(client, encode(envelope(forged)))).status_code == 200
    services: App = app.state.app
    [item] = await services.store.inbox_list()
    assert "botperms" not in item.payload
    assert item.payload["message"]["mid"] == "m_forged"


async def test_a_client_that_goes_away_mid_body_gets_400_and_nothing_is_stored(
    app: Starlette,
) -> None:
    # The bare ASGI endpoint reads the body itself: a disconnect there is answered, not raised.
    sent: list[dict[str, Any]] = []
    messages = [
        {"type": "http.request", "body": b'{"object": "page", ', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/webhook",
        "headers": [(b"x-hub-signature-256", b"sha256=00")],
        "query_string": b"",
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert sent[1]["body"] == b"client went away"
    assert await inbox_counts(app) == {}

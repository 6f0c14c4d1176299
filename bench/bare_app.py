"""The baseline for the pipeline benchmark: a bare ASGI app with no framework and no storage.

    uvicorn bench.bare_app:app --port 9200    (with BENCH_SEND_API_URL and BENCH_APP_SECRET)

For each delivery it checks the signature, parses the JSON and calls the Send API once per
message (with aiohttp, on one keep-alive session), then answers 200. With
``BENCH_BARE_MODE=parse`` it only checks and parses. It is what a hand-rolled
webhook does at best: nothing is stored, so a crash or a failed send loses the message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

import aiohttp

SECRET = os.environ.get("BENCH_APP_SECRET", "bench-app-secret").encode()
SEND_URL = os.environ.get("BENCH_SEND_API_URL", "http://127.0.0.1:9100") + "/v25.0/me/messages"
# "parse": check and parse only, no send (the acknowledgement baseline).
PARSE_ONLY = os.environ.get("BENCH_BARE_MODE") == "parse"
_session: aiohttp.ClientSession | None = None


async def _send(psid: str, text: str) -> None:
    global _session
    if _session is None:
        _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
    body = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": text}}
    async with _session.post(SEND_URL, params={"access_token": "bench"}, json=body) as answer:
        await answer.read()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    raw = b"".join(chunks)
    signature = dict(scope["headers"]).get(b"x-hub-signature-256", b"").decode()
    expected = "sha256=" + hmac.new(SECRET, raw, hashlib.sha256).hexdigest()
    status = 403
    if hmac.compare_digest(signature, expected):
        status = 200
        entries = json.loads(raw)["entry"]
        for entry in [] if PARSE_ONLY else entries:
            for event in entry.get("messaging", []):
                text = event.get("message", {}).get("text")
                if text is not None:
                    await _send(event["sender"]["id"], text)
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"EVENT_RECEIVED"})

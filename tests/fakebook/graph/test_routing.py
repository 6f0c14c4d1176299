"""Dispatch of `/{version}/{path}`: versions, unknown paths, injected faults (graph.routing)."""

from __future__ import annotations

import httpx

from fakebook import create_app
from tests.fakebook.fbtesting import FB, PAGE_TOKEN, make_config, proof


async def test_version_header_and_minimum(fb: FB) -> None:
    ok = await fb.client.get(
        "/v21.0/me", params={"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    )
    assert ok.status_code == 200
    assert ok.headers["facebook-api-version"] == "v21.0"
    old = await fb.client.get("/v20.0/me", params={"access_token": PAGE_TOKEN})
    assert old.status_code == 400
    assert old.json()["error"]["code"] == 12


async def test_expired_version_upgraded_when_configured() -> None:
    app = create_app(make_config(expired_version_policy="upgrade"))
    params = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        answer = await c.get("/v19.0/me", params=params)
    assert answer.status_code == 200
    assert answer.headers["facebook-api-version"] == "v21.0"


async def test_malformed_version_is_facebook_shaped_400(fb: FB) -> None:
    for label in ("v25", "25.0", "version1"):
        answer = await fb.client.get(f"/{label}/me")
        assert answer.status_code == 400
        assert answer.json()["error"]["type"] == "OAuthException"


async def test_unknown_path_and_unsupported_method(fb: FB) -> None:
    unknown = await fb.graph("GET", "me/nonsense/deeper")
    assert unknown.json()["error"]["code"] == 2500
    wrong_method = await fb.graph("DELETE", "me/messages")
    error = wrong_method.json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 33)
    missing_node = await fb.graph("GET", "123456")
    assert missing_node.json()["error"]["error_subcode"] == 33


async def test_fault_injection_fires_the_given_times(fb: FB) -> None:
    fault = {
        "path_contains": "/me/messages",
        "error": {"code": 1200, "message": "Temporary send message failure", "http_status": 500},
        "times": 2,
    }
    assert (await fb.client.post("/_fakebook/faults", json=fault)).status_code == 200
    await fb.say()
    body = {
        "recipient": {"id": "5810000000000001"},
        "messaging_type": "RESPONSE",
        "message": {"text": "x"},
    }
    for _ in range(2):
        failed = await fb.send(body)
        assert failed.status_code == 500
        assert failed.json()["error"]["code"] == 1200
    assert (await fb.send(body)).status_code == 200
    # Faults only hit matching paths.
    await fb.client.post("/_fakebook/faults", json={**fault, "times": None})
    assert (await fb.graph("GET", "me")).status_code == 200
    assert (await fb.client.delete("/_fakebook/faults")).json() == []
    assert (await fb.send(body)).status_code == 200

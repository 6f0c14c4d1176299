"""Dispatch of `/{version}/{path}`: versions, unknown paths, injected faults (graph.routing)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fakebook import create_app
from fakebook.graph import routing
from fakebook.graph.base import Endpoint, GraphRequest
from tests.fakebook.fbtesting import FB, PAGE_TOKEN, make_config, proof


async def test_version_header_and_minimum(fb: FB) -> None:
    ok = await fb.client.get(
        "/v21.0/me", params={"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    )
    assert ok.status_code == 200
    assert ok.headers["facebook-api-version"] == "v21.0"


async def test_expired_version_is_served_at_the_oldest_available_by_default(fb: FB) -> None:
    # Contract §0: Facebook moves a call to an expired version up; peer clients default to
    # long-dead versions (facebook-sdk v2.8, pymessenger v2.6), so this is what they meet.
    for label in ("v2.6", "v19.0", "v20.0"):
        answer = await fb.graph_at(label, "GET", "me")
        assert answer.status_code == 200, answer.text
        assert answer.headers["facebook-api-version"] == "v21.0"


async def test_expired_version_rejected_when_configured() -> None:
    app = create_app(make_config(expired_version_policy="reject"))
    params = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        answer = await c.get("/v20.0/me", params=params)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 12


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


async def test_when_param_endpoint_wins_only_with_its_param(
    monkeypatch: pytest.MonkeyPatch, fb: FB
) -> None:
    async def recipient(req: GraphRequest) -> dict[str, Any]:
        return {"id": req.config.page_id, "recipient": "from-linking"}

    narrow = Endpoint.of("GET", "me", recipient, when_param="account_linking_token")
    monkeypatch.setattr(routing, "ENDPOINTS", (narrow, *routing.ENDPOINTS))
    plain = await fb.graph("GET", "me")
    assert plain.json() == {"name": "Test Page", "id": "999888777666555"}
    linked = await fb.graph("GET", "me", account_linking_token="T")
    assert linked.json()["recipient"] == "from-linking"
    assert routing.find_endpoint("GET", "me", {})[0] is not narrow


async def test_body_must_be_a_json_object(fb: FB) -> None:
    params = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    for content in (b"{not json", b"[1, 2]"):
        answer = await fb.client.post(
            "/v25.0/me/messages",
            params=params,
            content=content,
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == 100

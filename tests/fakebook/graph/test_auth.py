"""Access tokens and appsecret_proof (fakebook.graph.auth)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from fakebook import create_app
from fakebook.graph.auth import expected_proof, token_from
from tests.fakebook.fbtesting import APP_ID, APP_SECRET, FB, PAGE_TOKEN, Clock, make_config, proof


async def test_page_token_in_query_with_proof(fb: FB) -> None:
    answer = await fb.graph("GET", "me")
    assert answer.status_code == 200
    assert answer.json() == {"name": "Test Page", "id": "999888777666555"}


async def test_bearer_header_and_form_body(fb: FB, client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {PAGE_TOKEN}"}
    by_header = await client.get(
        "/v25.0/me", params={"appsecret_proof": proof(PAGE_TOKEN)}, headers=headers
    )
    assert by_header.status_code == 200
    await fb.say()
    form = {
        "access_token": PAGE_TOKEN,
        "appsecret_proof": proof(PAGE_TOKEN),
        "recipient": '{"id":"5810000000000001"}',
        "messaging_type": "RESPONSE",
        "message": '{"text":"form body"}',
    }
    by_form = await client.post("/v25.0/me/messages", data=form)
    assert by_form.status_code == 200, by_form.text


def test_token_from_prefers_param_and_reads_oauth_scheme() -> None:
    assert token_from({"access_token": "a"}, {"authorization": "Bearer b"}) == "a"
    assert token_from({}, {"authorization": "OAuth c"}) == "c"
    assert token_from({}, {"authorization": "Basic d"}) is None


async def test_unknown_token_is_190_with_www_authenticate(fb: FB) -> None:
    answer = await fb.graph("GET", "me", token="EAAnotatoken")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 190
    assert error["type"] == "OAuthException"
    assert "error_subcode" not in error
    assert error["fbtrace_id"]
    assert answer.headers["www-authenticate"].startswith(
        'OAuth "Facebook Platform" "invalid_token"'
    )


async def test_expired_user_token_is_190_463(fb: FB, clock: Clock) -> None:
    token = await fb.user_token()
    assert (await fb.graph("GET", "me", token=token)).status_code == 200
    clock.advance(7200)
    error = (await fb.graph("GET", "me", token=token)).json()["error"]
    assert (error["code"], error["error_subcode"]) == (190, 463)
    assert "Session has expired" in error["message"]


async def test_password_change_is_190_460(fb: FB, client: httpx.AsyncClient) -> None:
    token = await fb.user_token()
    await client.post(
        "/_fakebook/tokens/invalidate",
        json={"asid": "10220000000000101", "reason": "password_changed"},
    )
    error = (await fb.graph("GET", "me", token=token)).json()["error"]
    assert (error["code"], error["error_subcode"]) == (190, 460)


async def test_missing_proof_rejected_for_page_and_user_tokens(fb: FB) -> None:
    token = await fb.user_token()
    for who in (PAGE_TOKEN, token):
        answer = await fb.graph("GET", "me", token=who, appsecret_proof="")
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["code"] == 100
        assert error["message"] == "API calls from the server require an appsecret_proof argument"


async def test_wrong_proof_rejected(fb: FB) -> None:
    answer = await fb.graph("GET", "me", appsecret_proof=proof(PAGE_TOKEN, "other-secret"))
    error = answer.json()["error"]
    assert error["code"] == 100
    assert error["message"] == "Invalid appsecret_proof provided in the API argument"


async def test_app_token_needs_no_proof(fb: FB) -> None:
    app_token = f"{APP_ID}|{APP_SECRET}"
    answer = await fb.graph(
        "GET", "debug_token", token=app_token, appsecret_proof="", input_token=PAGE_TOKEN
    )
    assert answer.status_code == 200
    # ...but a wrong one is still refused.
    answer = await fb.graph(
        "GET", "debug_token", token=app_token, appsecret_proof="00", input_token=PAGE_TOKEN
    )
    assert answer.json()["error"]["code"] == 100


async def test_appsecret_time_variant(fb: FB) -> None:
    good = expected_proof(APP_SECRET, PAGE_TOKEN, "1700000000")
    answer = await fb.graph("GET", "me", appsecret_proof=good, appsecret_time="1700000000")
    assert answer.status_code == 200
    answer = await fb.graph("GET", "me", appsecret_proof=good, appsecret_time="1700000001")
    assert answer.status_code == 400


@pytest.mark.parametrize("required", [True, False])
async def test_require_switch(required: bool) -> None:
    app: Starlette = create_app(make_config(require_appsecret_proof=required))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://fb.test"
    ) as http:
        answer = await http.get("/v25.0/me", params={"access_token": PAGE_TOKEN})
    assert (answer.status_code == 200) is not required

"""Token endpoints: code exchange, long-lived exchange, app token, debug_token (graph.oauth)."""

from __future__ import annotations

import base64
import hashlib

import httpx

from tests.fakebook.fbtesting import (
    ALICE_ASID,
    APP_ID,
    APP_SECRET,
    FB,
    PAGE_TOKEN,
    REDIRECT_URI,
    Clock,
)

APP_TOKEN = f"{APP_ID}|{APP_SECRET}"
VERIFIER = "v" * 20 + "-._~" + "A1" * 20


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def error_of(answer: httpx.Response) -> tuple[int, int | None, str]:
    error = answer.json()["error"]
    return error["code"], error.get("error_subcode"), error["message"]


async def test_code_exchange_gives_short_lived_token(fb: FB) -> None:
    answer = await fb.exchange(await fb.login())
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 7200
    assert body["access_token"].startswith("EAA")
    me = await fb.graph("GET", "me", token=body["access_token"])
    assert me.json() == {"name": "Alice Example", "id": ALICE_ASID}


async def test_code_is_single_use(fb: FB) -> None:
    code = await fb.login()
    assert (await fb.exchange(code)).status_code == 200
    again = await fb.exchange(code)
    assert again.status_code == 400
    assert error_of(again) == (100, 36009, "This authorization code has been used.")
    assert again.headers["www-authenticate"] == (
        'OAuth "Facebook Platform" "invalid_code" "This authorization code has been used."'
    )


async def test_redirect_uri_must_match_exactly(fb: FB) -> None:
    code = await fb.login()
    answer = await fb.exchange(code, redirect_uri=REDIRECT_URI + "/")
    code_, _, message = error_of(answer)
    assert code_ == 100
    assert message.startswith("Error validating verification code. Please make sure your")
    assert "invalid_code" in answer.headers["www-authenticate"]


async def test_code_expires(fb: FB, clock: Clock) -> None:
    code = await fb.login()
    clock.advance(601)
    assert error_of(await fb.exchange(code))[:2] == (100, 36007)


async def test_unknown_code_and_bad_client(fb: FB) -> None:
    assert error_of(await fb.exchange("AQnope"))[0] == 100
    code = await fb.login()
    assert error_of(await fb.exchange(code, client_secret="wrong"))[0] == 1
    assert error_of(await fb.exchange(code, client_id="42"))[0] == 101
    # A wrong client does not burn the code.
    assert (await fb.exchange(code)).status_code == 200


async def test_pkce_s256(fb: FB) -> None:
    extra = {"code_challenge": s256(VERIFIER), "code_challenge_method": "S256"}
    code = await fb.login(extra=extra)
    assert (await fb.exchange(code, code_verifier=VERIFIER)).status_code == 200
    code = await fb.login(extra=extra)
    wrong = await fb.exchange(code, code_verifier=VERIFIER[::-1])
    assert error_of(wrong)[0] == 100
    assert "code_verifier" in error_of(wrong)[2]
    code = await fb.login(extra=extra)
    assert "code_verifier" in error_of(await fb.exchange(code))[2]


async def test_pkce_plain(fb: FB) -> None:
    code = await fb.login(extra={"code_challenge": VERIFIER, "code_challenge_method": "plain"})
    assert (await fb.exchange(code, code_verifier=VERIFIER)).status_code == 200


async def test_long_lived_exchange(fb: FB, clock: Clock) -> None:
    short = await fb.user_token()
    params = {
        "grant_type": "fb_exchange_token",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "fb_exchange_token": short,
    }
    answer = await fb.client.get("/v25.0/oauth/access_token", params=params)
    assert answer.status_code == 200
    long_lived = answer.json()
    assert long_lived["expires_in"] > 5_000_000
    assert long_lived["access_token"] != short
    clock.advance(7201)
    assert (await fb.graph("GET", "me", token=long_lived["access_token"])).status_code == 200
    expired = await fb.client.get("/v25.0/oauth/access_token", params=params)
    assert error_of(expired)[:2] == (190, 463)
    assert "invalid_token" in expired.headers["www-authenticate"]


async def test_client_credentials_gives_working_app_token(fb: FB) -> None:
    params = {"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET}
    body = (await fb.client.get("/v25.0/oauth/access_token", params=params)).json()
    assert body["token_type"] == "bearer"
    assert body["access_token"].startswith(f"{APP_ID}|")
    debug = await fb.graph("GET", "debug_token", token=body["access_token"], input_token=PAGE_TOKEN)
    assert debug.json()["data"]["type"] == "PAGE"


async def test_debug_token_user(fb: FB, clock: Clock) -> None:
    token = await fb.user_token(scopes="user_likes,email")
    data = (await fb.graph("GET", "debug_token", token=APP_TOKEN, input_token=token)).json()["data"]
    assert data["is_valid"] is True
    assert data["type"] == "USER"
    assert data["app_id"] == APP_ID
    assert data["application"] == "Test Bot"
    assert data["user_id"] == ALICE_ASID
    assert data["scopes"] == ["public_profile", "user_likes", "email"]
    assert data["expires_at"] == int(clock.now) + 7200
    assert data["data_access_expires_at"] == int(clock.now) + 90 * 86400
    assert data["issued_at"] == int(clock.now)
    clock.advance(7200)
    data = (await fb.graph("GET", "debug_token", token=APP_TOKEN, input_token=token)).json()["data"]
    assert data["is_valid"] is False
    assert data["error"]["subcode"] == 463


async def test_debug_token_invalid_and_page_and_app(fb: FB) -> None:
    data = (await fb.graph("GET", "debug_token", token=APP_TOKEN, input_token="junk")).json()[
        "data"
    ]
    assert data["is_valid"] is False
    assert data["error"]["code"] == 190
    page = (await fb.graph("GET", "debug_token", token=APP_TOKEN, input_token=PAGE_TOKEN)).json()
    assert page["data"]["expires_at"] == 0
    assert page["data"]["type"] == "PAGE"
    app = (await fb.graph("GET", "debug_token", token=APP_TOKEN, input_token=APP_TOKEN)).json()
    assert app["data"]["type"] == "APP"


async def test_debug_token_needs_app_token(fb: FB) -> None:
    answer = await fb.graph("GET", "debug_token", token=PAGE_TOKEN, input_token=PAGE_TOKEN)
    assert answer.json()["error"]["code"] == 100
    missing = await fb.graph("GET", "debug_token", token=APP_TOKEN)
    assert missing.json()["error"]["code"] == 100


async def test_bearer_token_beside_client_secret_needs_no_proof(fb: FB) -> None:
    # Departure 5: OAuth clients send their current token as a Bearer header on every call of
    # their session; with client_id and client_secret, "require app secret or app secret proof"
    # is met, so the long-lived exchange works as on Facebook.
    short = await fb.user_token()
    params = {
        "grant_type": "fb_exchange_token",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "fb_exchange_token": short,
    }
    answer = await fb.client.get(
        "/v25.0/oauth/access_token", params=params, headers={"Authorization": f"Bearer {short}"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["expires_in"] > 5_000_000
    # A wrong secret is no such proof: the bearer token then needs its appsecret_proof.
    wrong = {**params, "client_secret": "not-the-secret"}
    refused = await fb.client.get(
        "/v25.0/oauth/access_token", params=wrong, headers={"Authorization": f"Bearer {short}"}
    )
    assert refused.json()["error"]["message"].startswith("API calls from the server require")


async def test_www_authenticate_kind_matches_the_error(fb: FB) -> None:
    # Departure 6: a missing client_id is a bad request, not a bad code.
    code = await fb.login()
    answer = await fb.client.get(
        "/v25.0/oauth/access_token",
        params={"client_secret": APP_SECRET, "redirect_uri": REDIRECT_URI, "code": code},
    )
    assert answer.json()["error"]["code"] == 101
    assert answer.headers["www-authenticate"] == (
        'OAuth "Facebook Platform" "invalid_request" "Missing client_id parameter."'
    )
    bad_secret = await fb.exchange(code, client_secret="nope")
    assert '"invalid_request"' in bad_secret.headers["www-authenticate"]
    assert (await fb.exchange(code)).status_code == 200
    used = await fb.exchange(code)
    assert '"invalid_code"' in used.headers["www-authenticate"]

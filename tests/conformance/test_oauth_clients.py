"""The whole Facebook Login code flow with two generic OAuth 2 clients, driven by HTTP through
fakebook's Login dialog: Authlib's httpx `OAuth2Client` and requests-oauthlib's `OAuth2Session`
with its Facebook compliance fix.

Client settings the tests choose (configuration, not bugs; fakebook is not bent to them):
* both default to HTTP Basic client authentication at the token endpoint, which Facebook does
  not document (its manual flow sends `client_id`/`client_secret` as parameters), and fakebook
  answers it as a missing `client_id`; Authlib is set to `client_secret_post`, requests-oauthlib
  to `include_client_id=True`, as their Facebook recipes do;
* oauthlib refuses bearer tokens over plain http, so `OAUTHLIB_INSECURE_TRANSPORT` is set for
  the loopback server;
* neither computes `appsecret_proof`, so Graph reads pass it as a parameter.
The bearer token these sessions attach to every later call, the token endpoint included, is
what the long-lived exchange checks.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from requests_oauthlib import OAuth2Session
from requests_oauthlib.compliance_fixes import facebook_compliance_fix

from tests.conformance.conftest import (
    ALICE_ASID,
    APP_ID,
    APP_SECRET,
    BOB_PSID,
    REDIRECT_URI,
    Live,
    proof,
)


def _exchange_params(short: str) -> dict[str, str]:
    return {
        "grant_type": "fb_exchange_token",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "fb_exchange_token": short,
    }


def test_authlib_code_flow_with_pkce_and_long_lived_exchange(fakebook: Live) -> None:
    token_url = f"{fakebook.url}/v25.0/oauth/access_token"
    with OAuth2Client(
        APP_ID,
        APP_SECRET,
        scope="user_likes",
        redirect_uri=REDIRECT_URI,
        token_endpoint_auth_method="client_secret_post",
        code_challenge_method="S256",
    ) as client:
        verifier = "v" * 64
        url, state = client.create_authorization_url(
            f"{fakebook.url}/v25.0/dialog/oauth", code_verifier=verifier
        )
        location = fakebook.consent(url)
        assert location.endswith("#_=_")  # Facebook's fragment, as on the real dialog
        # A browser never sends the fragment to the callback, so the server sees the URL
        # without it; Authlib reads any "#" as an implicit-grant answer.
        callback = location.split("#", 1)[0]
        token = client.fetch_token(
            token_url, authorization_response=callback, state=state, code_verifier=verifier
        )
        assert token["token_type"].lower() == "bearer"
        short = token["access_token"]
        me = client.get(
            f"{fakebook.url}/v25.0/me", params={"fields": "name", "appsecret_proof": proof(short)}
        )
        assert me.json() == {"name": "Alice Example", "id": ALICE_ASID}
        # The session sends `Authorization: Bearer <short>` here too.
        extended = client.get(token_url, params=_exchange_params(short))
        assert extended.status_code == 200, extended.text
        assert extended.json()["expires_in"] > 5_000_000


def test_authlib_sees_a_used_code_as_an_oauth_error(fakebook: Live) -> None:
    token_url = f"{fakebook.url}/v25.0/oauth/access_token"
    with OAuth2Client(
        APP_ID, APP_SECRET, scope="user_likes", redirect_uri=REDIRECT_URI,
        token_endpoint_auth_method="client_secret_post",
    ) as client:  # fmt: skip
        url, state = client.create_authorization_url(f"{fakebook.url}/v25.0/dialog/oauth")
        callback = fakebook.consent(url).split("#", 1)[0]
        client.fetch_token(token_url, authorization_response=callback, state=state)
        with pytest.raises(OAuthError) as caught:
            client.fetch_token(token_url, authorization_response=callback, state=state)
    # Facebook's error body is an object, not RFC 6749's string; Authlib keeps it as is.
    assert caught.value.error["error_subcode"] == 36009


def test_requests_oauthlib_code_flow_with_compliance_fix(
    fakebook: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    token_url = f"{fakebook.url}/v25.0/oauth/access_token"
    session = facebook_compliance_fix(
        OAuth2Session(APP_ID, redirect_uri=REDIRECT_URI, scope=["user_likes", "email"])
    )
    url, state = session.authorization_url(f"{fakebook.url}/v25.0/dialog/oauth")
    location = fakebook.consent(url, person=BOB_PSID)
    assert parse_qs(urlsplit(location).query)["state"] == [state]
    token = session.fetch_token(
        token_url,
        client_secret=APP_SECRET,
        authorization_response=location.split("#", 1)[0],  # what the callback server sees
        include_client_id=True,
    )
    short = token["access_token"]
    me = session.get(
        f"{fakebook.url}/v25.0/me",
        params={"fields": "first_name,email", "appsecret_proof": proof(short)},
    )
    assert me.json()["email"] == "bob.sample@example.com"
    extended = session.get(token_url, params=_exchange_params(short))
    assert extended.status_code == 200, extended.text
    permissions = session.get(
        f"{fakebook.url}/v25.0/me/permissions", params={"appsecret_proof": proof(short)}
    ).json()["data"]
    assert {"permission": "email", "status": "granted"} in permissions


def test_requests_oauthlib_default_basic_auth_is_refused(
    fakebook: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    session = OAuth2Session(APP_ID, redirect_uri=REDIRECT_URI, scope=["user_likes"])
    url, _ = session.authorization_url(f"{fakebook.url}/v25.0/dialog/oauth")
    location = fakebook.consent(url)
    code = parse_qs(urlsplit(location).query)["code"][0]
    answer = requests.post(
        f"{fakebook.url}/v25.0/oauth/access_token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(APP_ID, APP_SECRET),
        timeout=10,
    )
    assert answer.json()["error"]["message"] == "Missing client_id parameter."
    assert '"invalid_request"' in answer.headers["www-authenticate"]

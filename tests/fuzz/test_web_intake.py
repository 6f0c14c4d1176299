"""Outside input through the whole Starlette app (httpx.ASGITransport): any signed webhook body,
any callback query, any ticket, signed_request form or redirect_uri gets a 2xx, 3xx or 4xx
answer, never a 5xx and never an exception out of the app."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from hypothesis import given
from hypothesis import strategies as st

from botperms.messenger import sign_body, sign_request
from tests.flows.conftest import APP_SECRET
from tests.fuzz.strategies import deliveries, json_values

# What a query string or form value can carry once percent-decoded (no lone surrogates).
query_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)


def _not_a_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert "Traceback" not in response.text


async def _post_signed(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    headers = {"X-Hub-Signature-256": sign_body(APP_SECRET, body)}
    return await client.post("/webhook", content=body, headers=headers)


@given(data=deliveries() | json_values)
async def test_any_signed_json_delivery(client: httpx.AsyncClient, data: Any) -> None:
    response = await _post_signed(client, json.dumps(data).encode())
    _not_a_server_error(response)


@given(body=st.binary(max_size=400))
async def test_any_signed_bytes(client: httpx.AsyncClient, body: bytes) -> None:
    _not_a_server_error(await _post_signed(client, body))


@given(body=st.binary(max_size=200), header=st.none() | query_text)
async def test_unsigned_or_badly_signed_bodies_are_403(
    client: httpx.AsyncClient, body: bytes, header: str | None
) -> None:
    headers = {} if header is None else {"X-Hub-Signature-256": header.encode("utf-8", "replace")}
    response = await client.post("/webhook", content=body, headers=headers)  # type: ignore[arg-type]
    assert response.status_code in (403, 400), response.status_code


@given(params=st.dictionaries(st.sampled_from(["state", "code", "error", "error_reason",
                                               "granted_scopes", "denied_scopes", "x"]),
                              query_text, max_size=4),
       cookie=st.none() | st.from_regex(r"\A[A-Za-z0-9_-]{0,60}\Z"))  # fmt: skip
async def test_any_oauth_callback(
    client: httpx.AsyncClient, params: dict[str, str], cookie: str | None
) -> None:
    client.cookies.clear()
    if cookie is not None:
        client.cookies.set("botperms_browser", cookie)
    response = await client.get("/auth/callback", params=params)
    _not_a_server_error(response)
    assert response.status_code != 200  # no state we issued: never a finished login


@given(ticket=query_text)
async def test_any_ticket_on_the_confirm_page(client: httpx.AsyncClient, ticket: str) -> None:
    response = await client.get("/auth/start", params={"ticket": ticket})
    _not_a_server_error(response)
    assert response.status_code >= 400


@given(ticket=query_text, form_token=query_text)
async def test_any_confirm_form(client: httpx.AsyncClient, ticket: str, form_token: str) -> None:
    data = {"ticket": ticket, "form_token": form_token}
    _not_a_server_error(await client.post("/auth/start", data=data))


signed = json_values.map(
    lambda payload: sign_request(APP_SECRET, {"algorithm": "HMAC-SHA256", "user_id": payload})
)


@given(
    raw=query_text | signed,
    path=st.sampled_from(["/facebook/deauthorize", "/facebook/data-deletion"]),
)
async def test_any_signed_request_form(client: httpx.AsyncClient, raw: str, path: str) -> None:
    _not_a_server_error(await client.post(path, data={"signed_request": raw}))


@given(redirect_uri=query_text | query_text.map(lambda tail: "https://www.messenger.com/" + tail),
       scope=st.none() | query_text)  # fmt: skip
async def test_any_link_start_without_a_token(
    client: httpx.AsyncClient, redirect_uri: str, scope: str | None
) -> None:
    # No account_linking_token: the Graph API is never asked (no network here).
    params = {"redirect_uri": redirect_uri, **({} if scope is None else {"scope": scope})}
    response = await client.get("/link/start", params=params)
    _not_a_server_error(response)
    if response.status_code == 302:  # back to Messenger, without a code
        location = unquote(response.headers["location"])  # Starlette quotes what needs it
        assert urlsplit(location).hostname == urlsplit(unquote(redirect_uri)).hostname
        assert "authorization_code" not in urlsplit(location).query


@given(code=query_text)
async def test_any_deletion_status_code(client: httpx.AsyncClient, code: str) -> None:
    _not_a_server_error(await client.get("/deletion", params={"id": code}))

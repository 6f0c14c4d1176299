import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from botperms.graph.client import GraphClient
from botperms.graph.errors import GraphError, InvalidParameterError
from botperms.graph.oauth import (
    AccessToken,
    Permissions,
    debug_token,
    dialog_url,
    exchange_code,
    exchange_long_lived,
    get_permissions,
    new_pkce_pair,
    revoke_permissions,
)

from .conftest import APP_ID, APP_SECRET, Recorder

USER_TOKEN = "EAAUserTokenValue0123456789abcdef"


def test_dialog_url_minimal() -> None:
    url = dialog_url(
        www_url="https://www.facebook.com/",
        graph_version="v25.0",
        app_id=APP_ID,
        redirect_uri="https://bot.example.com/auth/callback",
        state="st&te",
        scopes=["public_profile", "user_likes"],
    )
    assert url.startswith("https://www.facebook.com/v25.0/dialog/oauth?")
    assert "scope=public_profile,user_likes" in url
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "client_id": [APP_ID],
        "redirect_uri": ["https://bot.example.com/auth/callback"],
        "state": ["st&te"],
        "response_type": ["code"],
        "scope": ["public_profile,user_likes"],
    }


def test_dialog_url_options() -> None:
    url = dialog_url(
        www_url="http://127.0.0.1:9000",
        graph_version="v25.0",
        app_id=APP_ID,
        redirect_uri="http://127.0.0.1/cb",
        state="s",
        scopes=["email"],
        code_challenge="abc",
        auth_type="rerequest",
        display="touch",
    )
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge"] == ["abc"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["auth_type"] == ["rerequest"]
    assert query["display"] == ["touch"]


def test_pkce_pair() -> None:
    verifier, challenge = new_pkce_pair()
    assert len(verifier) == 64
    assert re.fullmatch(r"[A-Za-z0-9\-._~]+", verifier)
    assert challenge == create_s256_code_challenge(verifier)
    assert "=" not in challenge
    assert new_pkce_pair()[0] != verifier


async def test_exchange_code(recorder: Recorder, graph: GraphClient) -> None:
    body = {"access_token": USER_TOKEN, "token_type": "bearer", "expires_in": 5183944}
    recorder.queue(httpx.Response(200, json=body))
    token = await exchange_code(
        graph, code="C0DE", redirect_uri="https://bot/cb", code_verifier="V" * 64
    )
    assert token == AccessToken(USER_TOKEN, "bearer", 5183944)
    assert USER_TOKEN not in repr(token)
    params = recorder.requests[0].url.params
    assert recorder.requests[0].url.path.endswith("/oauth/access_token")
    assert params["client_id"] == APP_ID
    assert params["client_secret"] == APP_SECRET
    assert params["code"] == "C0DE"
    assert params["redirect_uri"] == "https://bot/cb"
    assert params["code_verifier"] == "V" * 64
    assert "access_token" not in params


async def test_exchange_code_without_verifier(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, json={"access_token": USER_TOKEN}))
    token = await exchange_code(graph, code="C", redirect_uri="https://bot/cb", code_verifier=None)
    assert token.token_type == "bearer"
    assert token.expires_in is None
    assert "code_verifier" not in recorder.requests[0].url.params


async def test_exchange_code_used_twice(recorder: Recorder, graph: GraphClient) -> None:
    error = {
        "message": "This authorization code has been used.",
        "code": 100,
        "error_subcode": 36009,
    }
    recorder.queue(httpx.Response(400, json={"error": error}))
    with pytest.raises(InvalidParameterError) as caught:
        await exchange_code(graph, code="C0DE", redirect_uri="https://b/cb", code_verifier=None)
    assert caught.value.subcode == 36009
    assert APP_SECRET not in str(caught.value)


async def test_exchange_code_not_replayed_after_timeout(
    recorder: Recorder, graph: GraphClient
) -> None:
    recorder.queue(httpx.ReadTimeout("slow"))
    with pytest.raises(GraphError):
        await exchange_code(graph, code="C", redirect_uri="https://b/cb", code_verifier=None)
    assert len(recorder.requests) == 1


async def test_exchange_without_token_in_answer(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, json={"oops": 1}))
    with pytest.raises(GraphError, match="without an access_token"):
        await exchange_code(graph, code="C", redirect_uri="https://b/cb", code_verifier=None)


async def test_exchange_long_lived(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, json={"access_token": "EAALong", "expires_in": 5183944}))
    token = await exchange_long_lived(graph, USER_TOKEN)
    assert token.access_token == "EAALong"
    params = recorder.requests[0].url.params
    assert params["grant_type"] == "fb_exchange_token"
    assert params["fb_exchange_token"] == USER_TOKEN
    assert params["client_secret"] == APP_SECRET


async def test_debug_token(recorder: Recorder, graph: GraphClient) -> None:
    data = {
        "app_id": APP_ID,
        "type": "USER",
        "application": "Bot",
        "is_valid": True,
        "expires_at": 1752254132,
        "data_access_expires_at": 1754846089,
        "scopes": ["public_profile", "user_likes"],
        "user_id": "9001",
    }
    recorder.queue(httpx.Response(200, json={"data": data}))
    info = await debug_token(graph, USER_TOKEN)
    assert info.is_valid
    assert info.app_id == APP_ID
    assert info.type == "USER"
    assert info.user_id == "9001"
    assert info.scopes == ("public_profile", "user_likes")
    assert info.expires_at == datetime.fromtimestamp(1752254132, tz=UTC)
    assert info.data_access_expires_at is not None
    assert info.data_access_expires_at.tzinfo is UTC
    params = recorder.requests[0].url.params
    assert params["input_token"] == USER_TOKEN
    assert params["access_token"] == f"{APP_ID}|{APP_SECRET}"
    assert "appsecret_proof" in params


async def test_debug_token_never_expires_and_invalid(
    recorder: Recorder, graph: GraphClient
) -> None:
    data = {
        "app_id": APP_ID,
        "is_valid": False,
        "expires_at": 0,
        "error": {"code": 190, "subcode": 460, "message": "expired"},
    }
    recorder.queue(httpx.Response(200, json={"data": data}))
    info = await debug_token(graph, USER_TOKEN)
    assert not info.is_valid
    assert info.expires_at is None
    assert info.user_id is None
    assert info.scopes == ()
    assert (info.error_code, info.error_subcode) == (190, 460)


async def test_get_permissions(recorder: Recorder, graph: GraphClient) -> None:
    rows = [
        {"permission": "public_profile", "status": "granted"},
        {"permission": "user_likes", "status": "declined"},
        {"permission": "email", "status": "expired"},
        {"junk": True},
    ]
    recorder.queue(httpx.Response(200, json={"data": rows}))
    permissions = await get_permissions(graph, USER_TOKEN)
    assert permissions == Permissions(
        granted=("public_profile",), declined=("user_likes",), other=(("email", "expired"),)
    )
    assert permissions.has("public_profile")
    assert not permissions.has("public_profile", "user_likes")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [(True, True), ({"success": True}, True), ({"success": False}, False), (False, False)],
)
async def test_revoke_permissions(
    recorder: Recorder, graph: GraphClient, answer: object, expected: bool
) -> None:
    recorder.queue(httpx.Response(200, json=answer))
    assert await revoke_permissions(graph, USER_TOKEN) is expected
    assert recorder.requests[0].method == "DELETE"
    assert recorder.requests[0].url.path.endswith("/me/permissions")


async def test_revoke_one_permission(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, json={"success": True}))
    assert await revoke_permissions(graph, USER_TOKEN, "user_likes")
    assert recorder.requests[0].url.path.endswith("/me/permissions/user_likes")

"""Facebook Login (manual flow): dialog URL, PKCE, code exchange, token inspection, permissions."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from botperms.graph.client import GraphClient
from botperms.graph.errors import GraphError
from botperms.graph.reads import Permissions, parse_permissions

TOKEN_PATH = "/oauth/access_token"
# 48 random bytes encode to 64 base64url characters, all inside PKCE's [A-Za-z0-9-._~].
_VERIFIER_BYTES = 48


def dialog_url(
    *,
    www_url: str,
    graph_version: str,
    app_id: str,
    redirect_uri: str,
    state: str,
    scopes: Sequence[str],
    code_challenge: str | None = None,
    auth_type: str | None = None,
    display: str | None = None,
) -> str:
    """The Login dialog URL the browser is sent to."""
    params = {
        "client_id": app_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "response_type": "code",
        "scope": ",".join(scopes),
    }
    if code_challenge is not None:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    if auth_type is not None:
        params["auth_type"] = auth_type
    if display is not None:
        params["display"] = display
    # Commas stay literal: the dialog documents `scope=a,b`, and some proxies mangle %2C.
    query = urlencode(params, safe=",", quote_via=quote)
    return f"{www_url.rstrip('/')}/{graph_version}/dialog/oauth?{query}"


def new_pkce_pair() -> tuple[str, str]:
    """A fresh ``(code_verifier, S256 code_challenge)``; keep the verifier server-side."""
    verifier = secrets.token_urlsafe(_VERIFIER_BYTES)
    return verifier, str(create_s256_code_challenge(verifier))


@dataclass(frozen=True)
class AccessToken:
    access_token: str = field(repr=False)
    token_type: str
    expires_in: int | None


def _token_from(data: Any) -> AccessToken:
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        raise GraphError("the token endpoint answered without an access_token")
    expires_in = data.get("expires_in")
    return AccessToken(
        access_token=data["access_token"],
        token_type=str(data.get("token_type") or "bearer"),
        expires_in=int(expires_in) if isinstance(expires_in, int | float) else None,
    )


async def exchange_code(
    graph: GraphClient, *, code: str, redirect_uri: str, code_verifier: str | None
) -> AccessToken:
    """Trade the dialog's ``code`` for a user token. ``redirect_uri`` must equal the dialog's."""
    params = {**graph.client_credentials(), "redirect_uri": redirect_uri, "code": code}
    if code_verifier is not None:
        params["code_verifier"] = code_verifier
    # The code is single-use: replaying after a read timeout would only earn "code has been
    # used" (100/36009) and hide the real failure, so this GET is treated as non-idempotent.
    data = await graph.request(
        "GET", TOKEN_PATH, access_token=None, params=params, idempotent=False
    )
    return _token_from(data)


async def exchange_long_lived(graph: GraphClient, short_token: str) -> AccessToken:
    """Trade a short-lived user token for a ~60-day one."""
    params = {
        "grant_type": "fb_exchange_token",
        **graph.client_credentials(),
        "fb_exchange_token": short_token,
    }
    data = await graph.request("GET", TOKEN_PATH, access_token=None, params=params)
    return _token_from(data)


@dataclass(frozen=True)
class TokenInfo:
    app_id: str
    type: str
    is_valid: bool
    user_id: str | None
    scopes: tuple[str, ...]
    expires_at: datetime | None
    data_access_expires_at: datetime | None
    error_code: int | None = None
    error_subcode: int | None = None


def _timestamp(value: object) -> datetime | None:
    # 0 (or absent) means "never expires".
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def debug_token(graph: GraphClient, input_token: str) -> TokenInfo:
    """Inspect any token with the app token: validity, owner, scopes, expiry."""
    data = await graph.request(
        "GET", "/debug_token", access_token=graph.app_token(), params={"input_token": input_token}
    )
    info = data.get("data") if isinstance(data, dict) else None
    if not isinstance(info, dict):
        raise GraphError("debug_token answered without a data object")
    error = info.get("error")
    if not isinstance(error, dict):
        error = {}
    user_id = info.get("user_id")
    scopes = info.get("scopes")
    return TokenInfo(
        app_id=str(info.get("app_id") or ""),
        type=str(info.get("type") or ""),
        is_valid=info.get("is_valid") is True,
        user_id=str(user_id) if user_id is not None else None,
        scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
        expires_at=_timestamp(info.get("expires_at")),
        data_access_expires_at=_timestamp(info.get("data_access_expires_at")),
        error_code=_int_or_none(error.get("code")),
        error_subcode=_int_or_none(error.get("subcode")),
    )


async def get_permissions(graph: GraphClient, user_token: str) -> Permissions:
    data = await graph.request("GET", "/me/permissions", access_token=user_token)
    return parse_permissions(data)


async def revoke_permissions(
    graph: GraphClient, user_token: str, permission: str | None = None
) -> bool:
    """Revoke one permission, or (``permission=None``) the whole app login."""
    path = (
        "/me/permissions" if permission is None else f"/me/permissions/{quote(permission, safe='')}"
    )
    data = await graph.request("DELETE", path, access_token=user_token)
    # The docs say `true`; current responses are {"success": true}. Accept both.
    if data is True:
        return True
    return isinstance(data, dict) and data.get("success") is True

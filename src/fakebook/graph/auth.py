"""Access tokens and appsecret_proof, checked the way Facebook checks them.

Token sources, as on Facebook (contract §0): `access_token` in the query string or body, or an
`Authorization: Bearer` (or `OAuth`) header.

appsecret_proof policy (contract §6.5; Facebook's codes are UNCONFIRMED, these are ours):
* when present with any token it must equal hex HMAC-SHA256(app_secret, token), or
  HMAC over "token|appsecret_time" when `appsecret_time` is sent → else 100,
  "Invalid appsecret_proof provided in the API argument";
* when `require_appsecret_proof` is on, user and page tokens without it fail with 100, "API calls
  from the server require an appsecret_proof argument". App tokens never need one: they carry
  the secret already. Both use type GraphMethodException, as Facebook's responses do.
* the App Dashboard words the setting "require app secret or app secret proof for all API
  calls", so a call that carries the right `client_id` and `client_secret` (the token endpoint,
  where OAuth clients often send their current bearer token along) needs no proof.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fakebook.errors import GraphError
from fakebook.graph.base import Caller
from fakebook.state import State
from fakebook.tokens import (
    SUBCODE_APP_REMOVED,
    SUBCODE_EXPIRED,
    SUBCODE_PASSWORD_CHANGED,
    UserToken,
)


def token_from(params: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    value = params.get("access_token")
    if isinstance(value, str) and value:
        return value
    header = headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and credentials.strip():
        return credentials.strip()
    return None


def _fb_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")


def user_token_problem(token: UserToken, now: float, app_id: str) -> GraphError | None:
    """Why a known user token no longer works, or None if it does."""
    if token.invalidated == "app_removed":
        return GraphError(
            f"Error validating access token: The user has not authorized application {app_id}.",
            code=190,
            subcode=SUBCODE_APP_REMOVED,
        )
    if token.invalidated == "password_changed":
        return GraphError(
            "Error validating access token: The session has been invalidated because the user"
            " changed their password or Facebook has changed the session for security reasons.",
            code=190,
            subcode=SUBCODE_PASSWORD_CHANGED,
        )
    if token.is_expired(now):
        return GraphError(
            f"Error validating access token: Session has expired on {_fb_time(token.expires_at)}."
            f" The current time is {_fb_time(now)}.",
            code=190,
            subcode=SUBCODE_EXPIRED,
        )
    return None


def invalid_token_error() -> GraphError:
    return GraphError("Invalid OAuth access token - Cannot parse access token", code=190)


def identify(token: str, state: State) -> Caller | GraphError:
    """The caller behind a token, or the error Facebook gives for it."""
    config = state.config
    page = config.page_of_token(token)
    if page is not None:
        return Caller(kind="page", token=token, page_id=page.id)
    if token == config.app_token or token in state.tokens.app_tokens:
        return Caller(kind="app", token=token)
    user_token = state.tokens.users.get(token)
    if user_token is None:
        return invalid_token_error()
    problem = user_token_problem(user_token, state.now(), config.app_id)
    if problem is not None:
        return problem
    person = state.by_asid[user_token.asid]
    return Caller(kind="user", token=token, user_token=user_token, person=person)


def resolve_caller(
    params: Mapping[str, Any], headers: Mapping[str, str], state: State
) -> Caller | None:
    token = token_from(params, headers)
    if token is None:
        return None
    caller = identify(token, state)
    if isinstance(caller, GraphError):
        caller.www_authenticate = "invalid_token"
        raise caller
    check_proof(caller, params, state)
    return caller


def expected_proof(app_secret: str, token: str, appsecret_time: str | None = None) -> str:
    message = token if appsecret_time is None else f"{token}|{appsecret_time}"
    return hmac.new(app_secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _carries_app_secret(params: Mapping[str, Any], state: State) -> bool:
    config = state.config
    secret = params.get("client_secret")
    return (
        params.get("client_id") == config.app_id
        and isinstance(secret, str)
        and hmac.compare_digest(secret, config.app_secret)
    )


def check_proof(caller: Caller, params: Mapping[str, Any], state: State) -> None:
    config = state.config
    proof = params.get("appsecret_proof")
    if proof:
        raw_time = params.get("appsecret_time")
        appsecret_time = str(raw_time) if raw_time else None
        expected = expected_proof(config.app_secret, caller.token, appsecret_time)
        if not hmac.compare_digest(str(proof).lower(), expected):
            raise GraphError(
                "Invalid appsecret_proof provided in the API argument",
                code=100,
                type="GraphMethodException",
            )
        return
    if _carries_app_secret(params, state):
        return
    if config.require_appsecret_proof and caller.kind in ("user", "page"):
        raise GraphError(
            "API calls from the server require an appsecret_proof argument",
            code=100,
            type="GraphMethodException",
        )

"""Token endpoints: `oauth/access_token` (code, fb_exchange_token, client_credentials) and
`debug_token` (contract §6.2, §6.3).

Choices where Facebook is UNCONFIRMED (contract §11.5), all written down here:
* a code is burnt the first time it is presented with the right client credentials, even if
  the exchange then fails (redirect_uri or PKCE mismatch), so a leaked code is good for one try;
* an expired code answers 100/36007 "This authorization code has expired.";
* a redirect_uri mismatch answers 100/36008;
* a bad client_secret answers code 1 "Error validating client secret.", as Facebook does;
* a code_verifier sent when the dialog had no code_challenge is ignored;
* every error carries `WWW-Authenticate: OAuth "Facebook Platform" "<kind>" "<message>"`, as
  Facebook's do: `invalid_code` only when the code itself is wrong (unknown, used, expired,
  another redirect_uri, a PKCE mismatch), `invalid_token` for a bad fb_exchange_token (190),
  and `invalid_request` for the rest, such as a missing or wrong client_id or secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

from fakebook.errors import GraphError, invalid_param
from fakebook.graph.auth import identify, invalid_token_error, user_token_problem
from fakebook.graph.base import Endpoint, GraphRequest

_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
PAGE_SCOPES = ("pages_messaging", "pages_show_list", "pages_manage_metadata")


def _code_error(message: str, *, subcode: int | None = None) -> GraphError:
    return GraphError(message, code=100, subcode=subcode, www_authenticate="invalid_code")


def _check_client(req: GraphRequest, *, secret_required: bool = True) -> None:
    client_id = req.text("client_id")
    if client_id is None:
        raise GraphError("Missing client_id parameter.", code=101)
    if client_id != req.config.app_id:
        raise GraphError("Error validating application. Invalid application ID.", code=101)
    secret = req.text("client_secret")
    if secret is None:
        if secret_required:
            raise GraphError("Missing client_secret parameter.", code=101)
        return
    if not hmac.compare_digest(secret, req.config.app_secret):
        raise GraphError("Error validating client secret.", code=1)


def _token_body(token: str, expires_in: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"access_token": token, "token_type": "bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return body


def _pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return hmac.compare_digest(computed, challenge)
    return hmac.compare_digest(verifier, challenge)


def _code_exchange(req: GraphRequest) -> dict[str, Any]:
    config = req.config
    state = req.state
    verifier = req.text("code_verifier")
    _check_client(req, secret_required=not (config.pkce_secret_optional and verifier))
    redirect_uri = req.text("redirect_uri")
    if redirect_uri is None:
        raise invalid_param("Missing redirect_uri parameter.")
    code = req.text("code")
    if code is None:
        raise invalid_param("Missing code parameter.")
    record = state.tokens.codes.get(code)
    if record is None:
        raise _code_error("Invalid verification code format.")
    if record.used:
        raise _code_error("This authorization code has been used.", subcode=36009)
    record.used = True
    now = state.now()
    if now >= record.expires_at:
        raise _code_error("This authorization code has expired.", subcode=36007)
    if redirect_uri != record.redirect_uri:
        raise _code_error(
            "Error validating verification code. Please make sure your redirect_uri is"
            " identical to the one you used in the OAuth dialog request",
            subcode=36008,
        )
    if record.code_challenge is not None:
        if verifier is None:
            raise _code_error("Missing code_verifier parameter for PKCE.")
        method = record.code_challenge_method or "plain"
        if not _VERIFIER.match(verifier) or not _pkce_matches(
            verifier, record.code_challenge, method
        ):
            raise _code_error("Invalid code_verifier: it does not match the code_challenge.")
    long_lived = config.code_exchange_long_lived
    token = state.tokens.issue_user(
        record.asid,
        now=now,
        ttl=config.long_token_ttl if long_lived else config.short_token_ttl,
        data_access_ttl=config.data_access_ttl,
        long_lived=long_lived,
    )
    return _token_body(token.token, int(token.expires_at - now))


def _long_lived(req: GraphRequest) -> dict[str, Any]:
    _check_client(req)
    short = req.text("fb_exchange_token")
    if short is None:
        raise invalid_param("Missing fb_exchange_token parameter.")
    state = req.state
    record = state.tokens.users.get(short)
    if record is None:
        raise invalid_token_error()
    now = state.now()
    problem = user_token_problem(record, now, req.config.app_id)
    if problem is not None:
        raise problem
    token = state.tokens.issue_user(
        record.asid,
        now=now,
        ttl=req.config.long_token_ttl,
        data_access_ttl=req.config.data_access_ttl,
        long_lived=True,
    )
    return _token_body(token.token, int(token.expires_at - now))


async def access_token(req: GraphRequest) -> dict[str, Any]:
    grant_type = req.text("grant_type")
    try:
        if grant_type == "client_credentials":
            _check_client(req)
            return _token_body(req.state.tokens.issue_app_token(req.config.app_id), None)
        if grant_type == "fb_exchange_token":
            return _long_lived(req)
        if grant_type not in (None, "authorization_code"):
            raise invalid_param(f"Unsupported grant_type: {grant_type}")
        return _code_exchange(req)
    except GraphError as error:
        if error.www_authenticate is None:
            error.www_authenticate = "invalid_token" if error.code == 190 else "invalid_request"
        raise


def _user_debug(req: GraphRequest, input_token: str) -> dict[str, Any]:
    state = req.state
    config = req.config
    record = state.tokens.users.get(input_token)
    if record is None:
        error = invalid_token_error()
        return {
            "error": {"code": error.code, "message": error.message},
            "is_valid": False,
            "scopes": [],
        }
    grants = state.grants.get(record.asid)
    scopes = list(grants.granted) if grants is not None else []
    data: dict[str, Any] = {
        "app_id": config.app_id,
        "type": "USER",
        "application": config.app_name,
        "data_access_expires_at": int(record.data_access_expires_at),
        "expires_at": int(record.expires_at),
        "is_valid": True,
        "issued_at": int(record.issued_at),
        "scopes": scopes,
        "granular_scopes": [{"scope": scope} for scope in scopes if scope != "public_profile"],
        "user_id": record.asid,
    }
    problem = user_token_problem(record, state.now(), config.app_id)
    if problem is not None:
        data["is_valid"] = False
        data["error"] = {
            "code": problem.code,
            "message": problem.message,
            "subcode": problem.subcode,
        }
    return data


async def debug_token(req: GraphRequest) -> dict[str, Any]:
    caller = req.require_token()
    if caller.kind != "app":
        raise invalid_param(
            "You must provide an app access token, or a user access token that is an owner or"
            " developer of the app"
        )
    input_token = req.text("input_token", required=True)
    assert input_token is not None
    config = req.config
    known = identify(input_token, req.state)
    if not isinstance(known, GraphError) and known.kind == "page":
        data: dict[str, Any] = {
            "app_id": config.app_id,
            "type": "PAGE",
            "application": config.app_name,
            "data_access_expires_at": 0,
            "expires_at": 0,
            "is_valid": True,
            "profile_id": config.page_id,
            "scopes": list(PAGE_SCOPES),
            "granular_scopes": [
                {"scope": scope, "target_ids": [config.page_id]} for scope in PAGE_SCOPES
            ],
        }
    elif not isinstance(known, GraphError) and known.kind == "app":
        data = {
            "app_id": config.app_id,
            "type": "APP",
            "application": config.app_name,
            "is_valid": True,
            "scopes": [],
        }
    else:
        data = _user_debug(req, input_token)
    return {"data": data}


ENDPOINTS = (
    Endpoint.of("GET", r"oauth/access_token", access_token),
    Endpoint.of("POST", r"oauth/access_token", access_token),
    Endpoint.of("GET", r"debug_token", debug_token),
)

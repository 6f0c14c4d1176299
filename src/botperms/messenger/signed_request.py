"""Facebook's ``signed_request``: deauthorize and data-deletion callbacks, webview context.

``<signature>.<payload>``, both base64url; the signature is HMAC-SHA256 of the payload *string*
(as received, not re-encoded) keyed with the app secret (contract §7). Everything that could be
wrong with one raises :class:`InvalidSignedRequest` with a reason a log reader can act on;
nothing about the secret or the expected signature is ever in it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

ALGORITHM = "HMAC-SHA256"
# A real signed_request is a few hundred bytes; anything huge is not one.
MAX_LENGTH = 8192


class InvalidSignedRequest(ValueError):
    """The signed_request is malformed, not signed with our app secret, or not HMAC-SHA256."""


@dataclass(frozen=True)
class SignedRequest:
    user_id: str | None  # the app-scoped id (ASID) in deauthorize and deletion callbacks
    issued_at: int | None
    payload: dict[str, Any]


def _b64decode(part: str) -> bytes:
    # Facebook leaves the padding off; one implementer saw it included, so accept both.
    padded = part.rstrip("=") + "=" * (-len(part.rstrip("=")) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def sign_request(app_secret: str, payload: dict[str, Any]) -> str:
    """Make a signed_request as Facebook does (tests and tooling)."""
    body = _b64encode(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(app_secret.encode(), body.encode("ascii"), hashlib.sha256).digest()
    return f"{_b64encode(signature)}.{body}"


def parse_signed_request(app_secret: str, raw: str | None) -> SignedRequest:
    """Verify and decode a signed_request; raises :class:`InvalidSignedRequest`."""
    if not raw:
        raise InvalidSignedRequest("no signed_request")
    if len(raw) > MAX_LENGTH:
        raise InvalidSignedRequest("signed_request is too long")
    if not app_secret:
        raise InvalidSignedRequest("no app secret to check the signature with")
    encoded_signature, dot, body = raw.strip().partition(".")
    if not dot or not encoded_signature or not body:
        raise InvalidSignedRequest("signed_request is not <signature>.<payload>")
    try:
        signature = _b64decode(encoded_signature)
        payload_bytes = _b64decode(body)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidSignedRequest("signed_request is not base64url") from None
    try:
        payload = json.loads(payload_bytes)
    except (UnicodeDecodeError, ValueError):
        raise InvalidSignedRequest("signed_request payload is not JSON") from None
    except RecursionError:
        # "[[[[…" within MAX_LENGTH nests past the decoder's limit; this runs before the
        # signature check, so anyone could otherwise turn a callback into a 500.
        raise InvalidSignedRequest("signed_request payload nests too deeply") from None
    if not isinstance(payload, dict):
        raise InvalidSignedRequest("signed_request payload is not a JSON object")
    algorithm = payload.get("algorithm")
    if not isinstance(algorithm, str) or algorithm.upper() != ALGORITHM:
        # Checked before the signature on purpose: the algorithm is ours to insist on, never the
        # sender's to choose.
        raise InvalidSignedRequest(f"signed_request algorithm is {algorithm!r}, not {ALGORITHM}")
    expected = hmac.new(app_secret.encode(), body.encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise InvalidSignedRequest("signed_request signature does not match the app secret")
    user_id = payload.get("user_id")
    issued_at = payload.get("issued_at")
    return SignedRequest(
        user_id=str(user_id) if isinstance(user_id, str | int) and str(user_id) else None,
        issued_at=issued_at if isinstance(issued_at, int) else None,
        payload=payload,
    )

"""Webhook authenticity: the POST body signature and the GET subscription handshake."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign_body(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Facebook sends for ``body``: ``sha256=<hex>``."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify_signature(app_secret: str, body: bytes, header: str | None) -> bool:
    """True if ``header`` is the valid SHA-256 signature of the raw ``body``.

    Hash the bytes exactly as received: Facebook signs its escaped-unicode JSON, so any
    re-serialisation (even an equivalent one) breaks the signature. The legacy SHA-1
    ``X-Hub-Signature`` is deliberately not accepted.
    """
    if not header or not app_secret:
        return False
    scheme, _, received = header.strip().partition("=")
    if scheme.lower() != "sha256" or not received:
        return False
    expected = sign_body(app_secret, body).removeprefix(_PREFIX)
    # Hex is case-insensitive; compare in constant time so timing reveals nothing about the
    # expected digest.
    return hmac.compare_digest(expected.encode(), received.lower().encode("ascii", "replace"))


def verify_subscription(params: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo for a valid ``hub.mode=subscribe`` GET, else ``None`` (answer 403).

    The challenge is returned as the raw string: the docs call it an int, but echoing it
    unchanged is what Facebook checks.
    """
    if params.get("hub.mode") != "subscribe" or not verify_token:
        return None
    token = params.get("hub.verify_token") or ""
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    challenge = params.get("hub.challenge")
    return challenge if challenge else None

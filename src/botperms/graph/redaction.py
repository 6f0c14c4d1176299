"""Masking credentials in text that may reach a log or a person: Facebook error messages and
HTTP client messages can echo request URLs, with the token in their query string."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Query/form parameters whose values are credentials. Facebook error texts and httpx messages can
# echo request URLs, so anything that looks like `name=value` for these names is masked.
SECRET_PARAMS = (
    "access_token",
    "appsecret_proof",
    "client_secret",
    "fb_exchange_token",
    "input_token",
    "code",
    "code_verifier",
    "account_linking_token",
)
_PARAM_RE = re.compile(r"(?i)\b(" + "|".join(SECRET_PARAMS) + r")=[^&\s\"'#]+")
# User/page tokens start with "EAA"; app tokens are "<app id>|<secret>". Masked even when we did
# not send them ourselves (e.g. a token quoted back inside a message).
_TOKEN_RE = re.compile(r"\bEAA[A-Za-z0-9]{16,}|\b\d{5,}\|[A-Za-z0-9_-]{16,}")
REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask known secret values and anything shaped like a token or a credential parameter."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _PARAM_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _TOKEN_RE.sub(REDACTED, text)

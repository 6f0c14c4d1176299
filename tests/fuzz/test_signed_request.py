"""``signed_request`` (deauthorize, data deletion, webview context): any string gives a
SignedRequest or InvalidSignedRequest; only our own signature ever gives a SignedRequest."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from botperms.messenger import (
    InvalidSignedRequest,
    SignedRequest,
    parse_signed_request,
    sign_request,
)
from tests.fuzz.strategies import json_values, text

SECRET = "fuzz-app-secret"
b64 = st.binary(max_size=300).map(lambda raw: base64.urlsafe_b64encode(raw).decode())


def _parse(raw: str, secret: str = SECRET) -> SignedRequest | None:
    try:
        parsed = parse_signed_request(secret, raw)
    except InvalidSignedRequest:
        return None
    assert isinstance(parsed, SignedRequest)
    assert parsed.user_id is None or isinstance(parsed.user_id, str)
    assert parsed.issued_at is None or isinstance(parsed.issued_at, int)
    assert isinstance(parsed.payload, dict)
    return parsed


@given(st.text(max_size=300) | st.builds("{}.{}".format, b64 | text, b64 | text))
def test_any_string_is_refused(raw: str) -> None:
    # Without our secret nothing can be valid (a forged HMAC is 2^-256).
    assert _parse(raw) is None


@given(
    st.dictionaries(text, json_values, max_size=5), st.sampled_from(["HMAC-SHA256", "hmac-sha256"])
)
def test_our_signature_over_any_payload(payload: dict[str, Any], algorithm: str) -> None:
    payload["algorithm"] = algorithm
    raw = sign_request(SECRET, payload)
    parsed = _parse(raw)
    assert parsed is not None or len(raw) > 8192
    assert _parse(raw, secret="another-app-secret") is None


@given(st.dictionaries(text, json_values, max_size=4), st.integers(0, 100), st.characters())
def test_a_changed_character_breaks_it(payload: dict[str, Any], where: int, char: str) -> None:
    payload["algorithm"] = "HMAC-SHA256"
    raw = sign_request(SECRET, payload)
    index = where % len(raw)
    changed = raw[:index] + char + raw[index + 1 :]
    parsed = _parse(changed)
    if parsed is not None:
        # Only padding-like or trailing characters the decoder ignores can leave it valid, and
        # then it still says exactly what we signed.
        assert parsed == _parse(raw)

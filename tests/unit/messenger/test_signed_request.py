"""signed_request: Facebook's format, and every way one can be wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from botperms.messenger import InvalidSignedRequest, parse_signed_request, sign_request

SECRET = "app-secret"
PAYLOAD = {"algorithm": "HMAC-SHA256", "issued_at": 1291836800, "user_id": "218471"}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _by_hand(secret: str, payload: dict[str, object], *, pad: bool = False) -> str:
    """Built independently of the code under test, as contract §7 describes it."""
    body = _b64(json.dumps(payload).encode())
    sig = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    if pad:
        sig += "=" * (-len(sig) % 4)
    return f"{sig}.{body}"


def test_a_request_signed_as_facebook_does_is_accepted() -> None:
    parsed = parse_signed_request(SECRET, _by_hand(SECRET, PAYLOAD))
    assert parsed.user_id == "218471"
    assert parsed.issued_at == 1291836800
    assert parsed.payload["algorithm"] == "HMAC-SHA256"


def test_padding_is_tolerated() -> None:
    assert parse_signed_request(SECRET, _by_hand(SECRET, PAYLOAD, pad=True)).user_id == "218471"


def test_sign_request_round_trips_and_matches_the_hand_made_signature() -> None:
    made = sign_request(SECRET, PAYLOAD)
    assert parse_signed_request(SECRET, made).user_id == "218471"
    signature, _, body = made.partition(".")
    expected = _b64(hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest())
    assert signature == expected


def _tamper_payload(raw: str) -> str:
    signature, _, _ = raw.partition(".")
    other = _b64(json.dumps({**PAYLOAD, "user_id": "999"}).encode())
    return f"{signature}.{other}"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (None, "no signed_request"),
        ("", "no signed_request"),
        ("no-dot-here", "<signature>.<payload>"),
        (".onlypayload", "<signature>.<payload>"),
        ("sig.", "<signature>.<payload>"),
        ("c2ln.bm90IGpzb24", "not JSON"),
        ("c2ln.WzEsMl0", "not a JSON object"),
        ("sïg.payload", "base64url"),
        (_tamper_payload(_by_hand(SECRET, PAYLOAD)), "does not match"),
        (_by_hand("another-secret", PAYLOAD), "does not match"),
        (_by_hand(SECRET, {**PAYLOAD, "algorithm": "HMAC-SHA1"}), "algorithm"),
        (_by_hand(SECRET, {**PAYLOAD, "algorithm": "none"}), "algorithm"),
        (_by_hand(SECRET, {"user_id": "1"}), "algorithm"),
        ("a" * 9000 + ".b", "too long"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(raw: str | None, fragment: str) -> None:
    with pytest.raises(InvalidSignedRequest) as refused:
        parse_signed_request(SECRET, raw)
    assert fragment in str(refused.value)
    assert SECRET not in str(refused.value)


def test_a_payload_without_user_id_parses_with_none() -> None:
    parsed = parse_signed_request(SECRET, sign_request(SECRET, {"algorithm": "HMAC-SHA256"}))
    assert parsed.user_id is None


def test_a_numeric_user_id_becomes_a_string() -> None:
    raw = sign_request(SECRET, {"algorithm": "HMAC-SHA256", "user_id": 218471})
    assert parse_signed_request(SECRET, raw).user_id == "218471"


def test_a_deeply_nested_payload_is_refused_not_a_crash() -> None:
    # Found by tests/fuzz: "[[[[…" fits in MAX_LENGTH and, decoded before the signature check,
    # raised RecursionError (a 500 on the deauthorize and data-deletion callbacks).
    body = _b64(b"[" * 5000)
    with pytest.raises(InvalidSignedRequest, match="nests too deeply"):
        parse_signed_request(SECRET, f"c2lnbmF0dXJl.{body}")

import hashlib
import hmac
import json

import pytest

from botperms.messenger.signature import sign_body, verify_signature, verify_subscription

SECRET = "app-secret"
BODY = json.dumps({"object": "page", "text": "äöå"}, ensure_ascii=True).encode()


def test_sign_body_matches_hmac_sha256() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign_body(SECRET, BODY) == f"sha256={expected}"


def test_verify_accepts_valid_signature() -> None:
    assert verify_signature(SECRET, BODY, sign_body(SECRET, BODY))


def test_verify_accepts_uppercase_hex_and_scheme() -> None:
    digest = sign_body(SECRET, BODY).removeprefix("sha256=")
    assert verify_signature(SECRET, BODY, f"SHA256={digest.upper()}")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha256",
        "sha1=" + hashlib.sha1(BODY).hexdigest(),
        sign_body("other-secret", BODY),
        "sha256=zzzz",
        "sha256=é",
    ],
)
def test_verify_rejects_bad_headers(header: str | None) -> None:
    assert not verify_signature(SECRET, BODY, header)


def test_verify_hashes_raw_bytes_not_reserialised_json() -> None:
    header = sign_body(SECRET, BODY)
    reserialised = json.dumps(json.loads(BODY), ensure_ascii=False).encode()
    assert not verify_signature(SECRET, reserialised, header)
    assert not verify_signature(SECRET, BODY + b" ", header)


def test_verify_with_empty_secret_is_false() -> None:
    assert not verify_signature("", BODY, sign_body("", BODY))


def test_subscription_handshake() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"}
    assert verify_subscription(params, "tok") == "1158201444"
    assert verify_subscription({**params, "hub.verify_token": "bad"}, "tok") is None
    assert verify_subscription({**params, "hub.mode": "unsubscribe"}, "tok") is None
    assert verify_subscription({**params, "hub.challenge": ""}, "tok") is None
    assert verify_subscription(params, "") is None

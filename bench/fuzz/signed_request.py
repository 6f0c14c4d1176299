"""atheris over ``signed_request``: Facebook's deauthorize and data-deletion callbacks.

    .venv/bin/pip install atheris
    .venv/bin/python bench/fuzz/signed_request.py -max_total_time=300

Each input is split in two: the first byte chooses whether the rest is used as it is (an
attacker's string) or as a JSON payload we sign with the app secret (a well-signed request of
any shape). ``parse_signed_request`` must give a ``SignedRequest`` with typed fields or raise
``InvalidSignedRequest``, and an unsigned input must never pass. Anything else is a crash,
written with its input to ``data/fuzz/signed_request/crashes/``; libFuzzer prints the number of
inputs tried (``stat::number_of_executed_units``) at the end.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["botperms.messenger"]):
    from botperms.messenger import InvalidSignedRequest, SignedRequest, parse_signed_request

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import run

SECRET = "fuzz-app-secret"
SEEDS = [
    b"\x00" + b"c2lnbmF0dXJl.eyJhbGdvcml0aG0iOiJITUFDLVNIQTI1NiJ9",
    b"\x01" + b'{"algorithm":"HMAC-SHA256","issued_at":1291836800,"user_id":"218471"}',
    b"\x01" + b'{"algorithm":"hmac-sha256","user_id":12345678901234567890}',
    b"\x01" + b'{"algorithm":"HMAC-SHA1"}',
    b"\x00" + b"..",
]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _signed(payload: bytes) -> str:
    # Signed over the raw bytes, as Facebook would sign whatever JSON it sent.
    body = _b64(payload)
    signature = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest()
    return f"{_b64(signature)}.{body}"


def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, rest = data[0] % 2, data[1:]
    raw = _signed(rest) if mode else rest.decode("utf-8", "replace")
    try:
        parsed = parse_signed_request(SECRET, raw)
    except InvalidSignedRequest:
        return
    assert mode == 1, f"an unsigned input passed: {raw!r}"
    assert isinstance(parsed, SignedRequest)
    assert parsed.user_id is None or isinstance(parsed.user_id, str)
    assert parsed.issued_at is None or isinstance(parsed.issued_at, int)
    assert isinstance(parsed.payload, dict)


if __name__ == "__main__":
    run("signed_request", test_one_input, SEEDS)

import json

import pytest

from botperms.graph.errors import (
    GraphError,
    GraphPermissionError,
    InvalidParameterError,
    InvalidTokenError,
    LinkingTokenError,
    OutsideWindowError,
    RateLimitedError,
    TransientError,
    UserUnavailableError,
)
from botperms.graph.redaction import redact
from botperms.graph.responses import error_from_response, parse_retry_after

TOKEN = "EAAGm0PX4ZCpsBAKZBxyzSecretTokenValue123"
APP_TOKEN = "1234567890|s3cr3tAppSecretValue_xyz"


def envelope(code: int, subcode: int | None = None, message: str = "boom") -> dict[str, object]:
    error: dict[str, object] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbC123",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


@pytest.mark.parametrize(
    ("code", "subcode", "expected"),
    [
        (190, None, InvalidTokenError),
        (190, 463, InvalidTokenError),
        (190, 467, InvalidTokenError),
        (102, None, InvalidTokenError),
        (463, None, InvalidTokenError),
        (4, None, RateLimitedError),
        (4, 2018022, RateLimitedError),
        (17, None, RateLimitedError),
        (32, None, RateLimitedError),
        (613, None, RateLimitedError),
        (80006, None, RateLimitedError),
        (551, None, UserUnavailableError),
        (200, 1545041, UserUnavailableError),
        (10, 2018108, UserUnavailableError),
        (100, 2018001, UserUnavailableError),
        (2018218, None, UserUnavailableError),
        (10, 2018278, OutsideWindowError),
        (10, 2018065, OutsideWindowError),
        (10, None, GraphPermissionError),
        (10, 1893063, GraphPermissionError),
        (200, None, GraphPermissionError),
        (200, 2018028, GraphPermissionError),
        (230, None, GraphPermissionError),
        (299, None, GraphPermissionError),
        (100, None, InvalidParameterError),
        (100, 36009, InvalidParameterError),
        (100, 2018109, InvalidParameterError),
        (10301, None, LinkingTokenError),
        (10303, None, LinkingTokenError),
        (1, None, TransientError),
        (2, None, TransientError),
        (1200, None, TransientError),
        (12345, None, GraphError),
    ],
)
def test_code_table(code: int, subcode: int | None, expected: type[GraphError]) -> None:
    error = error_from_response(400, envelope(code, subcode))
    assert type(error) is expected
    assert error.code == code
    assert error.subcode == subcode
    assert error.http_status == 400
    assert error.fbtrace_id == "AbC123"
    assert error.type == "OAuthException"


def test_retryable_flags() -> None:
    assert TransientError.retryable
    assert RateLimitedError.retryable
    for kind in (GraphError, InvalidTokenError, UserUnavailableError, OutsideWindowError):
        assert not kind.retryable


def test_body_may_be_bytes_or_str() -> None:
    raw = json.dumps(envelope(190, 460, "Session expired"))
    assert isinstance(error_from_response(400, raw), InvalidTokenError)
    assert isinstance(error_from_response(400, raw.encode()), InvalidTokenError)


def test_str_is_readable() -> None:
    error = error_from_response(400, envelope(10, 2018278, "Outside allowed window"))
    text = str(error)
    assert "Outside allowed window" in text
    assert "code 10/2018278" in text
    assert "HTTP 400" in text
    assert "AbC123" in text


def test_5xx_without_json_is_transient() -> None:
    error = error_from_response(502, b"<html>Bad Gateway</html>")
    assert isinstance(error, TransientError)
    assert "502" in str(error)


def test_5xx_with_unknown_code_is_transient() -> None:
    assert isinstance(error_from_response(503, envelope(99999)), TransientError)


def test_429_without_json_is_rate_limited() -> None:
    error = error_from_response(429, "", headers={"Retry-After": "7"})
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 7.0


def test_non_json_200_is_readable_graph_error() -> None:
    error = error_from_response(200, b"<html>captive portal</html>")
    assert type(error) is GraphError
    assert "not JSON" in str(error)
    assert "captive portal" in str(error)


def test_4xx_without_error_object() -> None:
    error = error_from_response(404, {"unexpected": 1})
    assert type(error) is GraphError
    assert "without an error object" in str(error)


def test_rate_limit_retry_after_from_buc_header() -> None:
    usage = {
        "123": [{"type": "messenger", "call_count": 100, "estimated_time_to_regain_access": 2}]
    }
    headers = {"X-Business-Use-Case-Usage": json.dumps(usage)}
    error = error_from_response(400, envelope(80006), headers=headers)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 120.0


def test_retry_after_takes_the_longest_hint() -> None:
    usage = {"1": [{"estimated_time_to_regain_access": 1}]}
    headers = {"retry-after": "90", "x-business-use-case-usage": json.dumps(usage)}
    assert parse_retry_after(headers) == 90.0


def test_retry_after_ignores_garbage() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}) is None
    assert parse_retry_after({"X-Business-Use-Case-Usage": "{not json"}) is None
    assert parse_retry_after({"X-Business-Use-Case-Usage": '{"1": [{"x": 1}]}'}) is None
    zero = {"X-Business-Use-Case-Usage": '{"1": [{"estimated_time_to_regain_access": 0}]}'}
    assert parse_retry_after(zero) == 0.0


def test_token_in_error_message_is_redacted() -> None:
    message = f"Invalid OAuth access token - Cannot parse access token {TOKEN}"
    error = error_from_response(400, envelope(190, message=message))
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    assert TOKEN not in error.message
    assert "[redacted]" in str(error)


def test_url_with_token_in_body_is_redacted() -> None:
    url = f"https://graph.facebook.com/v25.0/me?access_token={TOKEN}&appsecret_proof=abcdef0123"
    error = error_from_response(502, f"upstream failed for {url}")
    assert TOKEN not in str(error)
    assert "abcdef0123" not in str(error)


def test_explicit_secrets_are_redacted() -> None:
    secret = "plain-app-secret"
    error = error_from_response(
        400,
        envelope(100, message=f"bad client_secret {secret} and {APP_TOKEN}"),
        redact_values=[secret],
    )
    assert secret not in str(error)
    assert "s3cr3tAppSecretValue_xyz" not in str(error)


def test_redact_handles_params_and_token_shapes() -> None:
    text = redact(f"x?client_secret=abc&code=xyz&input_token={TOKEN} tok {TOKEN} app {APP_TOKEN}")
    assert "abc" not in text
    assert "xyz" not in text
    assert TOKEN not in text
    assert APP_TOKEN not in text
    assert "error_code=5" in redact("error_code=5")

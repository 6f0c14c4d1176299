from __future__ import annotations

from botperms.logs import redact_processor, redact_text


def test_token_shapes_are_masked_anywhere() -> None:
    text = "GET /me?access_token=EAAGm0PX4ZCpsBAKZBZA1234567890abc failed; app 1234567|abcdefghij"
    masked = redact_text(text)
    assert "EAAGm0PX4ZCps" not in masked
    assert "abcdefghij" not in masked
    assert masked.count("[redacted]") == 2


def test_secret_keys_are_masked_but_codes_are_kept() -> None:
    event = {
        "event": "x",
        "access_token": "anything",
        "app_secret": "shh",
        "nested": {"page_token": "p", "name": "Ann"},
        "code": 190,
        "error_code": "2018278",
    }
    out = redact_processor(None, "info", event)
    assert out["access_token"] == "[redacted]"
    assert out["app_secret"] == "[redacted]"
    assert out["nested"] == {"page_token": "[redacted]", "name": "Ann"}
    assert out["code"] == 190
    assert out["error_code"] == "2018278"

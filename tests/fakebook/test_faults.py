"""Injected Graph failures (fakebook.faults)."""

from __future__ import annotations

from fakebook.faults import Fault, FaultList


def fault(path: str, method: str | None = None, remaining: int | None = 1) -> Fault:
    return Fault(
        path, method, 613, "(#613) Calls exceeded", None, None, "OAuthException", remaining
    )


def test_take_matches_path_and_method_and_counts_down() -> None:
    faults = FaultList()
    faults.add(fault("/messages", "POST", remaining=2))
    assert faults.take("GET", "/v25.0/me/messages") is None
    first = faults.take("post", "/v25.0/me/messages")
    assert first is not None
    assert first.code == 613
    assert faults.take("POST", "/v25.0/me/messages") is not None
    assert faults.take("POST", "/v25.0/me/messages") is None


def test_unlimited_until_cleared() -> None:
    faults = FaultList()
    faults.add(fault("/me", remaining=None))
    for _ in range(5):
        assert faults.take("GET", "/v25.0/me") is not None
    faults.clear()
    assert faults.take("GET", "/v25.0/me") is None

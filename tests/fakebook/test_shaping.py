"""Latency and usage headers on Graph calls (fakebook.shaping, fakebook.control_shaping)."""

from __future__ import annotations

import json
import time

import pytest

from fakebook.shaping import Latency, Shaping, usage_headers
from tests.fakebook.fbtesting import ALICE_PSID, FB, PAGE_ID

TEXT = {"recipient": {"id": ALICE_PSID}, "messaging_type": "RESPONSE", "message": {"text": "hi"}}


def test_random_latency_stays_in_its_range_and_counts_down() -> None:
    shaping = Shaping()
    shaping.latencies.append(Latency("/messages", "POST", 50, 0.2, 0.4))
    seen = [shaping.delay("POST", "/v25.0/me/messages") for _ in range(50)]
    assert all(0.2 <= value <= 0.4 for value in seen)
    assert len(set(seen)) > 1
    assert shaping.delay("POST", "/v25.0/me/messages") == 0.0
    assert shaping.latencies == []


def test_buc_entry_goes_under_the_page_id() -> None:
    headers = usage_headers({"business_use_case_usage": {"call_count": 95}}, PAGE_ID)
    value = json.loads(headers["X-Business-Use-Case-Usage"])
    assert value == {PAGE_ID: [{"type": "messenger", "call_count": 95}]}
    full = {"123": [{"type": "pages", "call_count": 1}]}
    assert (
        json.loads(
            usage_headers({"business_use_case_usage": full}, PAGE_ID)["X-Business-Use-Case-Usage"]
        )
        == full
    )
    with pytest.raises(ValueError, match="app_usage"):
        usage_headers({}, PAGE_ID)


async def test_fixed_latency_delays_only_matching_calls(fb: FB) -> None:
    await fb.say()  # opens the messaging window
    rule = {"path_contains": "/me/messages", "method": "POST", "seconds": 0.3, "times": 1}
    listed = (await fb.client.post("/_fakebook/latency", json=rule)).json()
    assert listed[0]["min_seconds"] == listed[0]["max_seconds"] == 0.3
    started = time.monotonic()
    assert (await fb.graph("GET", "me")).status_code == 200
    assert time.monotonic() - started < 0.25
    started = time.monotonic()
    answer = await fb.send(TEXT)
    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.3
    assert (await fb.client.get("/_fakebook/latency")).json() == []


async def test_usage_headers_on_answers_and_errors(fb: FB) -> None:
    rule = {
        "path_contains": "/me/messages",
        "business_use_case_usage": {"call_count": 95, "total_time": 20, "total_cputime": 20,
                                    "estimated_time_to_regain_access": 0},
        "app_usage": {"call_count": 28, "total_time": 25, "total_cputime": 25},
    }  # fmt: skip
    assert (await fb.client.post("/_fakebook/usage", json=rule)).status_code == 200
    failed = await fb.send(TEXT)  # outside the window: an error, still with the headers
    assert failed.status_code != 200
    buc = json.loads(failed.headers["x-business-use-case-usage"])
    assert buc[PAGE_ID][0]["call_count"] == 95
    assert json.loads(failed.headers["x-app-usage"])["call_count"] == 28
    other = await fb.graph("GET", "me")
    assert "x-app-usage" not in other.headers
    await fb.client.delete("/_fakebook/usage")
    assert "x-app-usage" not in (await fb.send(TEXT)).headers


async def test_bad_rules_are_400_and_reset_clears(fb: FB) -> None:
    for body in ({"seconds": -1}, {"min_seconds": 2, "max_seconds": 1}, {"times": 0}, [1]):
        assert (await fb.client.post("/_fakebook/latency", json=body)).status_code == 400
    assert (await fb.client.post("/_fakebook/usage", json={"app_usage": 5})).status_code == 400
    await fb.client.post("/_fakebook/latency", json={"seconds": 0.01})
    await fb.client.post("/_fakebook/reset")
    assert (await fb.client.get("/_fakebook/latency")).json() == []

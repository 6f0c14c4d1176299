"""The pacer: usage headers in, a page's sends spaced out or paused, on a fake clock."""

from __future__ import annotations

import json

import pytest

from botperms.graph.usage import Pacer, PacingPolicy, Usage, parse_usage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def buc(page: str, percent: float, regain_minutes: float = 0) -> dict[str, str]:
    entry = {
        "type": "messenger",
        "call_count": percent,
        "total_cputime": 10,
        "total_time": 10,
        "estimated_time_to_regain_access": regain_minutes,
    }
    return {"X-Business-Use-Case-Usage": json.dumps({page: [entry]})}


def test_headers_are_read_case_blind_and_the_worst_figure_wins() -> None:
    headers = {
        "x-app-usage": '{"call_count":28,"total_time":25,"total_cputime":31}',
        "X-Page-Usage": '{"call_count":50}',
        **buc("456", 80, regain_minutes=0),
    }
    app, page = parse_usage(headers)
    assert app == Usage(31.0)
    assert page == Usage(80.0)
    _, blocked = parse_usage(buc("456", 100, regain_minutes=2))
    assert blocked == Usage(100.0, 120.0)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-App-Usage": "not json"},
        {"X-App-Usage": "[1, 2]"},
        {"X-Business-Use-Case-Usage": '{"456": 7}'},
        {"X-Business-Use-Case-Usage": '{"456": [{"call_count": "lots"}]}'},
    ],
)
def test_odd_headers_slow_nothing(headers: dict[str, str]) -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.observe("456", headers)
    assert pacer.percent("456") == 0.0
    assert pacer.reserve("456") == 0.0


def test_spacing_grows_in_proportion_between_the_thresholds() -> None:
    policy = PacingPolicy(slow_from=75, pause_from=95, max_spacing=2.0)
    assert policy.spacing(50) == 0.0
    assert policy.spacing(75) == 0.0
    assert policy.spacing(85) == pytest.approx(1.0)
    assert policy.spacing(94) == pytest.approx(1.9)
    assert policy.spacing(99) == 2.0


async def test_a_busy_page_is_spaced_out_and_other_pages_are_not() -> None:
    clock = Clock()
    pacer = Pacer(PacingPolicy(max_spacing=2.0), clock=clock.__call__, sleep=clock.sleep)
    pacer.observe("busy", buc("busy", 85))
    # Three sends booked at once go out a second apart; the quiet page waits for nothing.
    waits = [pacer.reserve("busy") for _ in range(3)]
    assert waits == pytest.approx([0.0, 1.0, 2.0])
    assert pacer.reserve("quiet") == 0.0
    assert await pacer.before_send("quiet") == 0.0


async def test_near_the_limit_a_page_pauses_until_facebook_says_it_regains() -> None:
    clock = Clock()
    pacer = Pacer(PacingPolicy(max_spacing=2.0), clock=clock.__call__, sleep=clock.sleep)
    pacer.observe("456", buc("456", 97, regain_minutes=1))
    assert await pacer.before_send("456") == pytest.approx(60.0)
    # After the pause: one send at a time, max_spacing apart, until a fresh figure arrives.
    assert await pacer.before_send("456") == pytest.approx(2.0)
    pacer.observe("456", buc("456", 40))
    clock.now += 2.0
    assert await pacer.before_send("456") == 0.0
    assert clock.slept == pytest.approx([60.0, 2.0])


async def test_without_an_estimate_the_pause_is_the_policys() -> None:
    clock = Clock()
    pacer = Pacer(PacingPolicy(pause=30.0), clock=clock.__call__, sleep=clock.sleep)
    pacer.observe("456", buc("456", 96))
    assert await pacer.before_send("456") == pytest.approx(30.0)


def test_the_apps_own_usage_paces_every_page() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.observe("456", {"X-App-Usage": '{"call_count": 90}'})
    assert pacer.percent("789") == 90.0
    pacer.reserve("789")
    assert pacer.reserve("789") > 0


def test_an_old_figure_stops_slowing() -> None:
    clock = Clock()
    pacer = Pacer(PacingPolicy(stale_after=60.0), clock=clock)
    pacer.observe("456", buc("456", 90))
    assert pacer.percent("456") == 90.0
    clock.now += 61
    assert pacer.percent("456") == 0.0

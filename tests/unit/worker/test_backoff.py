"""backoff.delay: exponential, capped, jittered within the upper half of each step."""

from __future__ import annotations

import random

import pytest

from botperms.worker.backoff import delay


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 256.0), (10, 300.0), (50, 300.0)],
)
def test_each_attempt_waits_between_half_its_ceiling_and_the_ceiling(
    attempt: int, ceiling: float
) -> None:
    waits = [delay(attempt) for _ in range(200)]
    assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
    assert len(set(waits)) > 1  # jittered, so a burst of failures does not retry in lockstep


def test_the_bounds_are_exactly_the_ceiling_and_its_half(monkeypatch: pytest.MonkeyPatch) -> None:
    bounds: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    monkeypatch.setattr(random, "uniform", uniform)
    assert delay(1) == 1.0
    assert delay(4, base=0.25) == 2.0
    assert delay(30, base=2.0, cap=60.0) == 60.0
    assert bounds == [(0.5, 1.0), (1.0, 2.0), (30.0, 60.0)]


@pytest.mark.parametrize("attempt", [0, -3])
def test_attempts_below_one_wait_like_the_first(attempt: int) -> None:
    assert 0.5 <= delay(attempt) <= 1.0


def test_a_huge_attempt_number_stays_at_the_cap() -> None:
    assert 150.0 <= delay(10_000) <= 300.0

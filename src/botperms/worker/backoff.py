"""Retry delays shared by the inbox and the outbox."""

from __future__ import annotations

import random


def delay(attempt: int, *, base: float = 1.0, cap: float = 300.0) -> float:
    """Exponential backoff with equal jitter: attempt n waits between half of and the whole
    ``min(cap, base * 2 ** (n - 1))`` seconds (attempt 1: ``base / 2`` to ``base``)."""
    # The exponent is clamped: 2 ** 1024 no longer converts to a float, and the cap wins long
    # before that anyway.
    ceiling = min(cap, base * 2 ** min(max(0, attempt - 1), 64))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security

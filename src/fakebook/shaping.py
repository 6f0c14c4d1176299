"""Slow and busy answers: latency and rate-limit usage headers on matching Graph calls.

Where `faults.py` makes a call fail, these make it succeed the way a loaded Facebook does:
* a latency rule delays the answer by a fixed number of seconds or a random one in a range,
  so a test can see a client's timeouts, a worker's concurrency or an acknowledgement deadline;
* a usage rule adds `X-App-Usage` / `X-Page-Usage` / `X-Business-Use-Case-Usage` (contract
  §2.5; values are percentages of the limit), so a client's back-off on a rising header can
  be tested before any call fails.

Both match like faults (a substring of the URL path, optionally one method) and may be limited
to a number of calls (`times`), after which they are dropped.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, TypeVar

_RANDOM = secrets.SystemRandom()


@dataclass
class Rule:
    path_contains: str
    method: str | None
    remaining: int | None  # None: every matching call, until cleared

    def matches(self, method: str, path: str) -> bool:
        if self.path_contains not in path:
            return False
        return self.method is None or self.method.upper() == method.upper()

    def describe(self) -> dict[str, object]:
        return {
            "path_contains": self.path_contains,
            "method": self.method,
            "remaining": self.remaining,
        }


@dataclass
class Latency(Rule):
    low: float
    high: float

    def seconds(self) -> float:
        return self.low if self.high <= self.low else _RANDOM.uniform(self.low, self.high)

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "min_seconds": self.low, "max_seconds": self.high}


@dataclass
class Usage(Rule):
    headers: dict[str, str]

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "headers": dict(self.headers)}


R = TypeVar("R", bound=Rule)


def usage_headers(body: dict[str, Any], page_id: str) -> dict[str, str]:
    """The headers a usage rule adds; raises ValueError on a body it cannot use.

    `business_use_case_usage` may be the full header value (`{"<page-id>": [{...}]}`) or one
    entry (`{"type": "messenger", "call_count": 90, ...}`), which goes under the page's id.
    """
    headers: dict[str, str] = {}
    for key, header in (("app_usage", "X-App-Usage"), ("page_usage", "X-Page-Usage")):
        value = body.get(key)
        if value is not None:
            if not isinstance(value, dict):
                raise ValueError(f"{key} must be an object such as {{'call_count': 28}}")
            headers[header] = json.dumps(value, separators=(",", ":"))
    buc = body.get("business_use_case_usage")
    if buc is not None:
        if not isinstance(buc, dict):
            raise ValueError("business_use_case_usage must be an object")
        if not all(isinstance(entries, list) for entries in buc.values()):
            buc = {page_id: [{"type": "messenger", **buc}]}
        headers["X-Business-Use-Case-Usage"] = json.dumps(buc, separators=(",", ":"))
    if not headers:
        raise ValueError("give app_usage, page_usage or business_use_case_usage")
    return headers


@dataclass
class Shaping:
    latencies: list[Latency] = field(default_factory=list)
    usages: list[Usage] = field(default_factory=list)

    def clear(self) -> None:
        self.latencies.clear()
        self.usages.clear()

    def delay(self, method: str, path: str) -> float:
        """Seconds to wait before answering this call (the first matching rule)."""
        rule = _take(self.latencies, method, path)
        return rule.seconds() if rule is not None else 0.0

    def headers(self, method: str, path: str) -> dict[str, str]:
        rule = _take(self.usages, method, path)
        return dict(rule.headers) if rule is not None else {}

    def describe(self) -> dict[str, list[dict[str, object]]]:
        return {
            "latency": [rule.describe() for rule in self.latencies],
            "usage": [rule.describe() for rule in self.usages],
        }


def _take(rules: list[R], method: str, path: str) -> R | None:
    for rule in rules:
        if not rule.matches(method, path):
            continue
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                rules.remove(rule)
        return rule
    return None

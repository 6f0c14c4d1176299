"""Pacing a page's sends from the rate-limit usage headers, before Facebook refuses them.

Graph answers carry how much of a limit has been used, in percent (contract §2.5):
``X-App-Usage`` (the app's platform limit), ``X-Page-Usage`` (legacy, per page) and
``X-Business-Use-Case-Usage`` (the Messenger BUC limit, with ``estimated_time_to_regain_access``
in minutes once it is reached). The :class:`Pacer` keeps the latest figure per page and spaces
that page's sends out as it climbs: nothing below ``slow_from`` (75 %), then a gap growing in
proportion up to ``max_spacing`` seconds, and from ``pause_from`` (95 %) a pause until the
regain estimate, or ``pause`` seconds when there is none, with one send at a time after it to
read the new figure. All of this happens before code 613 or 32 arrives. Other pages are not
slowed by one page's figure; the app's own figure slows every page.

No I/O: the outbox calls :meth:`Pacer.observe` with each answer's headers and awaits
:meth:`Pacer.before_send` before each call.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from botperms.metrics import GRAPH_USAGE, SENDS_PACED

APP_USAGE = "x-app-usage"
PAGE_USAGE = "x-page-usage"
BUC_USAGE = "x-business-use-case-usage"
_PERCENT_KEYS = ("call_count", "total_time", "total_cputime")


@dataclass(frozen=True)
class Usage:
    """The highest percentage an answer reported, and Facebook's wait estimate (seconds)."""

    percent: float
    regain_seconds: float = 0.0


def _percent(entry: object) -> float:
    if not isinstance(entry, dict):
        return 0.0
    values = [entry.get(key) for key in _PERCENT_KEYS]
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return max(numbers, default=0.0)


def _json(value: str | None) -> object:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None  # a header we cannot read slows nothing down


def _buc_entry(entry: object) -> Usage:
    minutes = entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else None
    regain = float(minutes) * 60 if isinstance(minutes, int | float) else 0.0
    return Usage(_percent(entry), max(0.0, regain))


def parse_usage(headers: Mapping[str, str]) -> tuple[Usage | None, Usage | None]:
    """(the app's usage, the page's usage) from one answer's headers; None where absent.

    The page's is the worst of ``X-Page-Usage`` and the ``X-Business-Use-Case-Usage``
    entries (keyed by the page or business the token belongs to: this answer's own usage).
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    app_entry = _json(lowered.get(APP_USAGE))
    app = Usage(_percent(app_entry)) if isinstance(app_entry, dict) else None
    found: list[Usage] = []
    page_entry = _json(lowered.get(PAGE_USAGE))
    if isinstance(page_entry, dict):
        found.append(Usage(_percent(page_entry)))
    buc = _json(lowered.get(BUC_USAGE))
    if isinstance(buc, dict):
        for entries in buc.values():
            if isinstance(entries, list):
                found += [_buc_entry(entry) for entry in entries]
    page = max(found, key=lambda u: (u.percent, u.regain_seconds), default=None)
    return app, page


@dataclass(frozen=True)
class PacingPolicy:
    slow_from: float = 75.0
    pause_from: float = 95.0
    max_spacing: float = 2.0
    pause: float = 60.0
    # A figure this old (after any pause it caused) no longer slows anything: the windows
    # are rolling, and the next answer brings a fresh one.
    stale_after: float = 60.0

    def spacing(self, percent: float) -> float:
        """Seconds between two sends of a page at ``percent`` usage."""
        if percent < self.slow_from:
            return 0.0
        if percent >= self.pause_from:
            return self.max_spacing
        return self.max_spacing * (percent - self.slow_from) / (self.pause_from - self.slow_from)


@dataclass
class _Page:
    percent: float = 0.0
    seen_at: float = float("-inf")
    paused_until: float = float("-inf")
    next_slot: float = float("-inf")


class Pacer:
    def __init__(
        self,
        policy: PacingPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.policy = policy or PacingPolicy()
        self._clock = clock
        self._sleep = sleep
        self._app = _Page()
        self._pages: dict[str, _Page] = {}

    def observe(self, page_id: str, headers: Mapping[str, str]) -> None:
        """Take in the usage headers of an answer to a call made for ``page_id``."""
        app, page = parse_usage(headers)
        now = self._clock()
        if app is not None:
            self._note(self._app, app, now, "app")
        if page is not None:
            self._note(self._pages.setdefault(page_id, _Page()), page, now, page_id)

    def _note(self, state: _Page, usage: Usage, now: float, label: str) -> None:
        state.percent, state.seen_at = usage.percent, now
        GRAPH_USAGE.labels(page=label).set(usage.percent)
        if usage.regain_seconds > 0 or usage.percent >= self.policy.pause_from:
            pause = usage.regain_seconds or self.policy.pause
            state.paused_until = max(state.paused_until, now + pause)

    def percent(self, page_id: str) -> float:
        """The usage that paces ``page_id`` now (the higher of its own and the app's)."""
        now = self._clock()
        return max(self._current(self._app, now), self._current(self._page(page_id), now))

    def _current(self, state: _Page, now: float) -> float:
        fresh_until = max(state.seen_at, state.paused_until) + self.policy.stale_after
        return state.percent if now < fresh_until else 0.0

    def _page(self, page_id: str) -> _Page:
        return self._pages.get(page_id) or _Page()

    def reserve(self, page_id: str) -> float:
        """Book this page's next send; returns how many seconds it must wait first."""
        now = self._clock()
        state = self._pages.setdefault(page_id, _Page())
        start = max(now, state.next_slot, state.paused_until, self._app.paused_until)
        state.next_slot = start + self.policy.spacing(self.percent(page_id))
        return start - now

    async def before_send(self, page_id: str) -> float:
        """Wait as long as the page's usage asks for; returns the seconds waited."""
        wait = self.reserve(page_id)
        if wait > 0:
            SENDS_PACED.labels(page=page_id).inc(wait)
            await self._sleep(wait)
        return wait

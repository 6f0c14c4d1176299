"""Backpressure for the embedded process: the webhook waits while the backlog is long.

One process does the intake and the handling, and storing an event costs a small part of
handling it. Under a flood of many-event deliveries the process acknowledged 4,000 events/s
and answered 500/s while the load ran, then needed 20 s to catch up (`make bench`). Here the
intake's commit waits, for at most ``max_wait`` seconds, while more than ``limit`` stored
events wait to be handled or their messages to be sent, so the backlog, and the time until the
last person is answered, stay bounded. Facebook waits 20 s for an answer (contract §1.1), so
the wait is kept short: a delivery is stored anyway once it has waited ``max_wait``, and
nothing is refused.
"""

from __future__ import annotations

import asyncio
import contextlib

from botperms.metrics import INTAKE_WAITS


class Backlog:
    """How many stored events this process has not handled, plus the messages it has not
    sent (an estimate: what was queued outside the webhook is counted only when it finishes,
    and the count never goes below zero)."""

    def __init__(self, limit: int, *, max_wait: float) -> None:
        """``limit`` 0: no backpressure (the count is still kept)."""
        self.limit = limit
        self.max_wait = max_wait
        self.count = 0
        self._room = asyncio.Event()
        self._room.set()

    def _update(self) -> None:
        if self.limit and self.count >= self.limit:
            self._room.clear()
        else:
            self._room.set()

    def added(self, events: int) -> None:
        self.count += events
        self._update()

    def finished(self, events: int = 1) -> None:
        self.count = max(0, self.count - events)
        self._update()

    async def room(self) -> None:
        """Return once the backlog is under the limit, or after ``max_wait`` seconds."""
        if self._room.is_set():
            return
        INTAKE_WAITS.inc()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._room.wait(), self.max_wait)

"""The periodic job that keeps the database bounded: every ``interval`` seconds it removes what
the retention settings no longer keep (see ``botperms.store.housekeeping``), counts each
kind in ``botperms_housekeeping_removed`` and logs one line per pass that removed something.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from botperms.config import Settings
from botperms.metrics import HOUSEKEEPING_REMOVED
from botperms.store import PRUNE_KINDS, Retention
from botperms.store.housekeeping import BATCH_SIZE
from botperms.worker.loop import WakeableLoop

log = structlog.get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def retention_from(settings: Settings) -> Retention:
    return Retention(
        done=timedelta(days=settings.retention_days),
        dead=timedelta(days=settings.dead_retention_days),
        grace=timedelta(hours=settings.expired_grace_hours),
        # An attempt makes its ticket (or account_linking_token) single-use: it is kept until
        # whichever of the two lives longer is surely expired.
        ticket_ttl=timedelta(
            seconds=max(settings.ticket_ttl_seconds, settings.link_window_seconds)
        ),
        link_code_ttl=timedelta(seconds=settings.link_code_ttl_seconds),
        profile_ttl=timedelta(seconds=settings.profile_ttl_seconds),
    )


class PruneStore(Protocol):
    async def prune(
        self, kind: str, retention: Retention, *, now: datetime, batch_size: int = ...
    ) -> int: ...


ProgressHook = Callable[[str, int], None]


class Housekeeper:
    """Runs housekeeping now (:meth:`run_once`) or every ``interval`` seconds (``loop``)."""

    def __init__(
        self,
        store: PruneStore,
        retention: Retention,
        *,
        interval: float = 300.0,
        batch_size: int = BATCH_SIZE,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.store = store
        self.retention = retention
        self.batch_size = batch_size
        self._clock = clock
        self.loop = WakeableLoop("housekeeping", self._pass, interval)

    async def run_once(self, on_kind: ProgressHook | None = None) -> dict[str, int]:
        """One pass over every kind; returns kind → rows removed. ``on_kind`` is told each
        kind as it finishes (the CLI's progress)."""
        removed: dict[str, int] = {}
        for kind in PRUNE_KINDS:
            count = await self.store.prune(
                kind, self.retention, now=self._clock(), batch_size=self.batch_size
            )
            removed[kind] = count
            if count:
                HOUSEKEEPING_REMOVED.labels(kind=kind).inc(count)
            if on_kind is not None:
                on_kind(kind, count)
        if any(removed.values()):
            log.info("housekeeping.removed", **{k: n for k, n in removed.items() if n})
        return removed

    async def _pass(self) -> bool:
        await self.run_once()
        return False  # then sleep for the interval (errors are logged by the loop)

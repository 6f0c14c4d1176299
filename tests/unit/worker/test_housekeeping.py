"""The housekeeper and the queue gauges over a fake store: what they count and set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botperms.metrics import REGISTRY
from botperms.store import PRUNE_KINDS, QueueStats, Retention
from botperms.worker.gauges import QueueGauges
from botperms.worker.housekeeping import Housekeeper

NOW = datetime(2030, 1, 1, tzinfo=UTC)
RETENTION = Retention(*(timedelta(days=1),) * 6)


class FakeStore:
    def __init__(self, removable: dict[str, int]) -> None:
        self.removable = dict(removable)
        self.calls: list[tuple[str, datetime, int]] = []
        self.stats: list[QueueStats] = []

    async def prune(
        self, kind: str, retention: Retention, *, now: datetime, batch_size: int = 1000
    ) -> int:
        self.calls.append((kind, now, batch_size))
        return self.removable.pop(kind, 0)

    async def queue_stats(self, *, now: datetime) -> QueueStats:
        return self.stats.pop(0)


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_a_pass_prunes_every_kind_and_counts_what_went() -> None:
    store = FakeStore({"inbox_done": 1200, "profiles": 3})
    before = sample("botperms_housekeeping_removed_total", kind="inbox_done")
    keeper = Housekeeper(store, RETENTION, batch_size=250, clock=lambda: NOW)
    seen: list[tuple[str, int]] = []
    removed = await keeper.run_once(on_kind=lambda kind, n: seen.append((kind, n)))
    assert [call[0] for call in store.calls] == list(PRUNE_KINDS)
    assert {call[2] for call in store.calls} == {250}
    assert removed["inbox_done"] == 1200
    assert removed["profiles"] == 3
    assert sum(removed.values()) == 1203
    assert seen == list(removed.items())
    after = sample("botperms_housekeeping_removed_total", kind="inbox_done")
    assert after - before == 1200


async def test_gauges_follow_the_store_and_an_emptied_series_goes_to_zero() -> None:
    store = FakeStore({})
    store.stats = [
        QueueStats(
            inbox={"pending": 4},
            outbox={("dead", "p1"): 2, ("pending", "p2"): 5},
            oldest_pending={"inbox": 12.0, "outbox": 3.0},
        ),
        QueueStats(inbox={}, outbox={}, oldest_pending={"inbox": 0.0, "outbox": 0.0}),
    ]
    gauges = QueueGauges(store, pages=frozenset({"p0"}), clock=lambda: NOW)
    await gauges.refresh()
    assert sample("botperms_inbox_depth", status="pending") == 4
    assert sample("botperms_inbox_depth", status="failed") == 0
    assert sample("botperms_outbox_depth", status="pending", page="p2") == 5
    assert sample("botperms_dead_letters", page="p1") == 2
    assert sample("botperms_oldest_pending_seconds", queue="inbox") == 12.0
    # The configured page has its series from the start.
    assert REGISTRY.get_sample_value("botperms_dead_letters", {"page": "p0"}) == 0.0
    await gauges.refresh()
    assert REGISTRY.get_sample_value("botperms_dead_letters", {"page": "p1"}) == 0.0
    assert (
        REGISTRY.get_sample_value("botperms_outbox_depth", {"status": "pending", "page": "p2"})
        == 0.0
    )

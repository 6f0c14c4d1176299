"""``serve --processes 2``: the handler half's counters, sent over the relay, are added to the
web half's own in ``/metrics``, sample by sample."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from botperms.metrics import OUTBOX, counts, exposition, take_peer_counts


@pytest.fixture(autouse=True)
def no_peer() -> Iterator[None]:
    take_peer_counts([])
    yield
    take_peer_counts([])


def value(name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(exposition().decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def test_the_peers_counts_are_added_to_ours_and_new_labels_appear() -> None:
    OUTBOX.labels("sent").inc()
    ours = value("botperms_outbox_sends_total", outcome="sent")
    assert ours is not None
    take_peer_counts(
        [
            [
                "botperms_outbox_sends",
                "counter",
                [
                    ["botperms_outbox_sends_total", {"outcome": "sent"}, 40.0],
                    ["botperms_outbox_sends_total", {"outcome": "a-label-only-it-has"}, 2.0],
                ],
            ],
            # A family this process does not have is left out, not invented.
            ["botperms_not_here", "counter", [["botperms_not_here_total", {}, 1.0]]],
        ]
    )
    assert value("botperms_outbox_sends_total", outcome="sent") == ours + 40
    assert value("botperms_outbox_sends_total", outcome="a-label-only-it-has") == 2
    assert value("botperms_not_here_total") is None
    take_peer_counts([])
    assert value("botperms_outbox_sends_total", outcome="sent") == ours


def test_what_is_shared_is_counters_without_created_and_round_trips() -> None:
    OUTBOX.labels("retry").inc()
    shared = counts()
    kinds = {kind for _, kind, _ in shared}
    assert kinds <= {"counter", "histogram", "summary"}  # gauges are read where they are shown
    assert all(not name.endswith("_created") for _, _, samples in shared for name, _, _ in samples)
    before = value("botperms_outbox_sends_total", outcome="retry")
    assert before is not None
    take_peer_counts(shared)  # as if the peer had exactly our counts
    assert value("botperms_outbox_sends_total", outcome="retry") == 2 * before

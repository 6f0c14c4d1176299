"""Prometheus counters for what an operator watches: webhooks, logins, sends, handled events.

Kept in one registry of our own (not the global default) so several apps in one process, as in
the tests, do not collide, and so ``/metrics`` shows only botperms' series.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOK_REQUESTS = Counter(
    "botperms_webhook_requests",
    "Webhook POSTs by outcome (accepted, bad_signature, bad_payload, too_large, store_failed).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_EVENTS = Counter(
    "botperms_webhook_events",
    "Messaging events received, by kind (duplicates included).",
    ["kind"],
    registry=REGISTRY,
)
LOGINS = Counter(
    "botperms_logins",
    "Finished logins by outcome: granted, or the failure reason.",
    ["outcome"],
    registry=REGISTRY,
)
OUTBOX = Counter(
    "botperms_outbox_sends",
    "Send API attempts by outcome (sent, retry, dead).",
    ["outcome"],
    registry=REGISTRY,
)
INTAKE_WAITS = Counter(
    "botperms_intake_waits",
    "Webhook commits that waited because the backlog was over BOTPERMS_INTAKE_BACKLOG_LIMIT.",
    registry=REGISTRY,
)
INBOX = Counter(
    "botperms_inbox_events",
    "Handled webhook events by outcome (done, retry, dead).",
    ["outcome"],
    registry=REGISTRY,
)


# The login funnel (botperms.store.funnel counts it, after the row's transaction commits).
# No label says who: flow, client kind, step and a failure reason or declined scopes only.
LOGIN_FUNNEL = Counter(
    "botperms_login_funnel",
    "Logins reaching each funnel step (prompt_sent, link_opened, dialog_reached, granted, "
    "declined, cancelled, failed, back_in_messenger), by flow, client kind and reason.",
    ["flow", "client_kind", "step", "reason"],
    registry=REGISTRY,
)


HOUSEKEEPING_REMOVED = Counter(
    "botperms_housekeeping_removed",
    "Rows removed by housekeeping, by kind (login_attempts, inbox_done, outbox_sent, ...).",
    ["kind"],
    registry=REGISTRY,
)
# Queue gauges: set from the store every few seconds (botperms.worker.gauges), not per event.
INBOX_DEPTH = Gauge(
    "botperms_inbox_depth",
    "Inbox events not done, by status (pending, processing, failed).",
    ["status"],
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge(
    "botperms_outbox_depth",
    "Outbox messages not sent, by status (pending, sending, dead) and page.",
    ["status", "page"],
    registry=REGISTRY,
)
OLDEST_PENDING = Gauge(
    "botperms_oldest_pending_seconds",
    "How long the oldest pending item of each queue (inbox, outbox) has waited.",
    ["queue"],
    registry=REGISTRY,
)
DEAD_LETTERS = Gauge(
    "botperms_dead_letters",
    "Dead messages in the outbox, per page (botperms outbox list --status dead).",
    ["page"],
    registry=REGISTRY,
)
GRAPH_USAGE = Gauge(
    "botperms_graph_usage_percent",
    "The latest rate-limit usage Graph reported (X-*-Usage headers), per page ('app': the app).",
    ["page"],
    registry=REGISTRY,
)
SENDS_PACED = Counter(
    "botperms_sends_paced_seconds",
    "Seconds sends waited because the page's rate-limit usage was high, per page.",
    ["page"],
    registry=REGISTRY,
)


# Children of the counters the hot path bumps once per event, looked up once: `labels()` takes
# a lock and checks its arguments on every call, 4 % of a busy process's CPU (make bench).
_CHILDREN: dict[tuple[int, tuple[str, ...]], Any] = {}


def inc(counter: Counter, *labels: str) -> None:
    """``counter.labels(*labels).inc()``, with the child kept."""
    key = (id(counter), labels)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = counter.labels(*labels)
    child.inc()


# `serve --processes 2`: the handler half's counters as it last sent them over the relay, added
# to this process's own in /metrics (its handled events and sends happen over there). Empty in
# every other process.
_peer_counts: list[list[Any]] = []
_SUMMED = frozenset({"counter", "histogram", "summary"})


def counts() -> list[list[Any]]:
    """This process's counters and histograms, as JSON: ``[name, type, [[sample, labels,
    value], ...]]`` for each family."""
    shared = []
    for family in REGISTRY.collect():
        if family.type in _SUMMED:
            samples = [
                [sample.name, sample.labels, sample.value]
                for sample in family.samples
                if not sample.name.endswith("_created")
            ]
            shared.append([family.name, family.type, samples])
    return shared


def take_peer_counts(families: list[list[Any]]) -> None:
    """What the handler half sent last: it replaces the one before (each holds totals)."""
    global _peer_counts
    _peer_counts = families


class _WithPeer(Collector):
    """This process's registry, with the handler half's counts added sample by sample."""

    def collect(self) -> Iterator[Metric]:
        peer = {name: (kind, samples) for name, kind, samples in _peer_counts}
        for family in REGISTRY.collect():
            theirs = peer.get(family.name)
            if theirs is None or theirs[0] != family.type:
                yield family
                continue
            extra = {(name, _key(labels)): float(value) for name, labels, value in theirs[1]}
            merged = Metric(family.name, family.documentation, family.type, family.unit)
            for sample in family.samples:
                added = extra.pop((sample.name, _key(sample.labels)), 0.0)
                merged.add_sample(sample.name, sample.labels, sample.value + added)
            for (name, labels), value in extra.items():
                merged.add_sample(name, dict(labels), value)
            yield merged


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def exposition() -> bytes:
    if not _peer_counts:
        return generate_latest(REGISTRY)
    return generate_latest(_WithPeer())

"""Prometheus counters for what an operator watches: webhooks, logins, sends, handled events.

Kept in one registry of our own (not the global default) so several apps in one process, as in
the tests, do not collide, and so ``/metrics`` shows only botperms' series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

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


def exposition() -> bytes:
    return generate_latest(REGISTRY)

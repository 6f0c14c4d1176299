"""Prometheus counters for what an operator watches: webhooks, logins, sends, handled events.

Kept in one registry of our own (not the global default) so several apps in one process, as in
the tests, do not collide, and so ``/metrics`` shows only botperms' series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest

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


def exposition() -> bytes:
    return generate_latest(REGISTRY)

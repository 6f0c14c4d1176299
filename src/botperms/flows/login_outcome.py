"""Where a login ended, for the bot and the funnel: the attempt's outcome, the bot's
``on_login_failed`` event and the funnel's count, stored together, then the inbox worker woken.

The funnel's steps (``botperms.store.funnel``) are named here from the flow's failure reasons:
the person pressing Cancel in the dialog (``access_denied``) or ending the login meanwhile
(``login_cancelled``) is "cancelled"; every other reason is "failed"."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import structlog

from botperms.config import LoginFlow
from botperms.flows.client_kind import classify
from botperms.flows.errors import FailureReason, FlowError
from botperms.metrics import LOGINS
from botperms.store import LoginAttemptRecord, Store, StoreError
from botperms.store.funnel import FunnelStep

log = structlog.get_logger(__name__)

CANCELLED = frozenset({FailureReason.ACCESS_DENIED, FailureReason.LOGIN_CANCELLED})


def ending(flow: str, client_kind: str, reason: FailureReason) -> FunnelStep:
    step = "cancelled" if reason in CANCELLED else "failed"
    return FunnelStep(flow, client_kind, step, reason.value)


def finished(
    flow: str, client_kind: str, requested: Sequence[str], granted: Sequence[str]
) -> list[FunnelStep]:
    """A stored grant: "granted", or "declined" with the scopes the person left out; the web
    flow's browser then goes straight back to Messenger (account linking waits for the
    ``linked`` webhook, counted by the store)."""
    declined = sorted(s for s in set(requested) - set(granted) if s != "public_profile")
    steps = [
        FunnelStep(flow, client_kind, "declined", ",".join(declined))
        if declined
        else FunnelStep(flow, client_kind, "granted")
    ]
    if flow == LoginFlow.WEB.value:
        steps.append(FunnelStep(flow, client_kind, "back_in_messenger"))
    return steps


class LoginOutcomes:
    def __init__(self, store: Store, on_event_queued: Callable[[str, str], None]) -> None:
        self.store = store
        self.on_event_queued = on_event_queued

    async def failed(self, attempt: LoginAttemptRecord, reason: FailureReason) -> None:
        """An attempt that ended in ``reason``: its outcome, the bot's event, the count."""
        log.info("login.failed", page_id=attempt.page_id, psid=attempt.psid, reason=reason.value)
        LOGINS.labels(reason.value).inc()
        await self._queue_failure(
            attempt.state_hash,
            attempt.page_id,
            attempt.psid,
            reason,
            attempt.state_hash,
            ending(attempt.flow, attempt.client_kind, reason),
        )

    async def cancelled_meanwhile(self, attempt: LoginAttemptRecord) -> None:
        """The person unlinked or logged out during the exchange: nothing to tell them, but
        the funnel counts it."""
        LOGINS.labels(FailureReason.LOGIN_CANCELLED.value).inc()
        step = ending(attempt.flow, attempt.client_kind, FailureReason.LOGIN_CANCELLED)
        await self.count(step)

    async def dead_link(
        self, exc: FlowError, raw_ticket: str | None, user_agent: str | None
    ) -> None:
        """An expired or used link of a known person: the bot can send a fresh one. Keyed on
        the link, so opening the same dead link twice tells the person once."""
        if exc.page_id and exc.psid:
            key = "ticket:" + hashlib.sha256((raw_ticket or "").encode()).hexdigest()
            step = ending(LoginFlow.WEB.value, classify(user_agent).value, exc.reason)
            await self._queue_failure(None, exc.page_id, exc.psid, exc.reason, key, step)

    async def link_opened(self, flow: str, user_agent: str | None) -> None:
        await self.count(FunnelStep(flow, classify(user_agent).value, "link_opened"))

    async def count(self, step: FunnelStep) -> None:
        """A step with no transaction of its own; a database that is down loses the count,
        never the person's page."""
        try:
            await self.store.count_funnel(step)
        except StoreError:
            log.warning("login.funnel_not_counted", step=step.step)

    async def _queue_failure(
        self,
        state_hash: str | None,
        page_id: str,
        psid: str,
        reason: FailureReason,
        key: str,
        step: FunnelStep,
    ) -> None:
        # A failure here must not break the browser's page, which says what went wrong anyway.
        try:
            await self.store.record_login_failure(
                state_hash=state_hash,
                page_id=page_id,
                psid=psid,
                reason=reason.value,
                key=key,
                funnel=[step],
            )
        except StoreError:
            log.warning("login.outcome_not_recorded", reason=reason.value)
            return
        self.on_event_queued(page_id, psid)

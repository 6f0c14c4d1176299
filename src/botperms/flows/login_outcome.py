"""Where a login ended, for the bot: the attempt's outcome and the ``on_login_failed`` event,
stored together, then the inbox worker woken."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import structlog

from botperms.flows.errors import FailureReason, FlowError
from botperms.metrics import LOGINS
from botperms.store import LoginAttemptRecord, Store, StoreError

log = structlog.get_logger(__name__)


class LoginOutcomes:
    def __init__(self, store: Store, on_event_queued: Callable[[], None]) -> None:
        self.store = store
        self.on_event_queued = on_event_queued

    async def failed(self, attempt: LoginAttemptRecord, reason: FailureReason) -> None:
        """An attempt that ended in ``reason``: its outcome and the bot's event."""
        log.info("login.failed", page_id=attempt.page_id, psid=attempt.psid, reason=reason.value)
        LOGINS.labels(reason.value).inc()
        await self._queue_failure(
            attempt.state_hash, attempt.page_id, attempt.psid, reason, attempt.state_hash
        )

    async def dead_link(self, exc: FlowError, raw_ticket: str | None) -> None:
        """An expired or used link of a known person: the bot can send a fresh one. Keyed on
        the link, so opening the same dead link twice tells the person once."""
        if exc.page_id and exc.psid:
            key = "ticket:" + hashlib.sha256((raw_ticket or "").encode()).hexdigest()
            await self._queue_failure(None, exc.page_id, exc.psid, exc.reason, key)

    async def _queue_failure(
        self, state_hash: str | None, page_id: str, psid: str, reason: FailureReason, key: str
    ) -> None:
        # A failure here must not break the browser's page, which says what went wrong anyway.
        try:
            await self.store.record_login_failure(
                state_hash=state_hash, page_id=page_id, psid=psid, reason=reason.value, key=key
            )
        except StoreError:
            log.warning("login.outcome_not_recorded", reason=reason.value)
            return
        self.on_event_queued()

"""One try of one queued message: the Send API call and what its answer means (sent, a retry
at a time, or a dead letter with the reason). Both the embedded outbox worker and the
distributed conversation job send through it, so a message fares the same in either mode."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import structlog

from botperms.graph import (
    GraphClient,
    GraphError,
    RateLimitedError,
    is_sender_action,
    send_action,
    send_message,
)
from botperms.graph.handover import THREAD_CONTROL, send_thread_control
from botperms.graph.usage import Pacer
from botperms.store import OutboxItem, SendOutcome
from botperms.worker.backoff import delay
from botperms.worker.page_backoff import PageBackoff

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 8

# The page's token for a page id (None: a page botperms does not know, or no longer has).
PageTokens = Callable[[str], Awaitable[str | None]]
# Turns a queued payload into the one to send (login-link references into signed URLs).
Render = Callable[[dict[str, Any]], dict[str, Any]]


def _now() -> datetime:
    return datetime.now(UTC)


def _as_queued(payload: dict[str, Any]) -> dict[str, Any]:
    return payload


def fixed_token(token: str) -> PageTokens:
    """The one-page shortcut: every message goes out with the settings' page token."""

    async def lookup(_page_id: str) -> str | None:
        return token

    return lookup


class SendFateUnknown(Exception):
    """A try whose answer is gone (the process that made the call went away): it may have
    been sent. The message stays "sending", and the start-up recovery sends it again, as
    after a crash (the one window exactly-once cannot close, docs/concepts.md)."""


class Sender:
    def __init__(
        self,
        graph: GraphClient,
        tokens: PageTokens,
        *,
        backoff: PageBackoff | None = None,
        pacer: Pacer | None = None,
        render: Render | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """``backoff``: pauses a rate-limited page's sends (default: in this process only;
        give it the store in the distributed mode, so every worker pauses)."""
        self.graph = graph
        self._tokens = tokens
        # Spaces a page's sends out as its rate-limit usage headers climb (graph.usage).
        self.pacer = pacer
        self._render = render or _as_queued
        self.backoff = backoff or PageBackoff(None, clock=clock)
        self._clock = clock

    async def attempt(self, item: OutboxItem) -> SendOutcome:
        try:
            message_id = await self._deliver(item)
        except RateLimitedError as exc:
            # The page's limit, not this message's: the page's other messages wait too.
            until = await self.backoff.rate_limited(
                item.page_id, retry_after=exc.retry_after, reason=str(exc)[:200]
            )
            return self._failed(item, exc, not_before=until)
        except GraphError as exc:
            return self._failed(item, exc)
        except ValueError as exc:
            # Refused before the network (bad messaging_type, tag or sender action, or a page
            # botperms has no token for): no retry can fix it.
            log.warning("outbox.dead", item_id=item.id, psid=item.psid, reason=str(exc))
            return SendOutcome(item.id, "dead", error=f"invalid message: {exc}"[:500])
        await self.backoff.succeeded(item.page_id)
        return SendOutcome(item.id, "sent", message_id=message_id)

    async def _deliver(self, item: OutboxItem) -> str | None:
        token = await self._tokens(item.page_id)
        if token is None:
            raise ValueError(f"no token for page {item.page_id}")
        observe = None
        if self.pacer is not None:
            await self.pacer.before_send(item.page_id)
            observe = partial(self.pacer.observe, item.page_id)
        action = item.payload.get("sender_action")
        if action is not None:
            if not is_sender_action(action):
                raise ValueError(f"sender action {action!r} is not one the Send API knows")
            await send_action(self.graph, token, item.psid, action, on_headers=observe)
            return None
        handover = item.payload.get(THREAD_CONTROL)
        if isinstance(handover, dict):  # pass/take/request thread control, queued by a handler
            await send_thread_control(self.graph, token, item.psid, handover)
            return None
        result = await send_message(
            self.graph,
            token,
            item.psid,
            self._render(item.payload),
            messaging_type=item.messaging_type,
            tag=item.tag,
            on_headers=observe,
        )
        return result.message_id

    def _failed(
        self, item: OutboxItem, exc: GraphError, *, not_before: datetime | None = None
    ) -> SendOutcome:
        attempts = item.attempts + 1
        reason = str(exc)[:500]
        if "sender_action" in item.payload:
            log.info("outbox.action_dropped", item_id=item.id, psid=item.psid, code=exc.code)
            return SendOutcome(item.id, "dead", error=f"sender action not retried: {reason}"[:500])
        if not exc.retryable or attempts >= MAX_ATTEMPTS:
            log.warning(
                "outbox.dead", item_id=item.id, psid=item.psid, code=exc.code, reason=reason
            )
            return SendOutcome(item.id, "dead", error=reason)
        wait = delay(attempts)
        if isinstance(exc, RateLimitedError) and exc.retry_after:
            wait = max(wait, exc.retry_after)
        log.info("outbox.retry", item_id=item.id, code=exc.code, attempts=attempts, wait=wait)
        retry_at = self._clock() + timedelta(seconds=wait)
        if not_before is not None:
            retry_at = max(retry_at, not_before)
        return SendOutcome(item.id, "pending", error=reason, next_attempt_at=retry_at)

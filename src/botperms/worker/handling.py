"""One try of one stored event: the bot's handlers, and what a failure means (a retry at a
time, or a dead letter with ``on_error``'s effects). The embedded inbox worker and the
distributed conversation job both handle events through it, so a handler sees the same
retries and dead letters in either mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from botperms.bot import NotGranted
from botperms.bot.chain import handler_name
from botperms.bot.dispatcher import Dispatcher
from botperms.store import EventOutcome, Failed, GrantRecord, Handled, InboxItem
from botperms.worker.backoff import delay

log = structlog.get_logger(__name__)

# Mistakes in the handler's code: the same event fails the same way every time, so it is
# dead-lettered at once instead of retried as if the failure were passing.
PROGRAMMING_ERRORS: tuple[type[BaseException], ...] = (
    TypeError,
    AttributeError,
    NameError,
    LookupError,
    AssertionError,
    ValueError,
    NotImplementedError,
    NotGranted,
)


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries for a passing failure (Graph, network, storage), with backoff
    from ``base_delay`` seconds; one for a programming error. ``strict_order``: a conversation
    waits while its failed event waits for a retry; otherwise its later events go ahead."""

    max_attempts: int = 5
    base_delay: float = 1.0
    strict_order: bool = True

    def retry_at(self, item: InboxItem, exc: BaseException, now: datetime) -> datetime | None:
        attempts = item.attempts + 1
        if isinstance(exc, PROGRAMMING_ERRORS) or attempts >= self.max_attempts:
            return None
        return now + timedelta(seconds=delay(attempts, base=self.base_delay))


class EventHandling:
    def __init__(
        self, dispatcher: Dispatcher, policy: RetryPolicy, clock: Callable[[], datetime]
    ) -> None:
        self.dispatcher = dispatcher
        self.policy = policy
        self._clock = clock

    async def outcome(self, item: InboxItem, grant: GrantRecord | None) -> EventOutcome:
        try:
            effects = await self.dispatcher.handle(item, grant=grant)
        except Exception as exc:
            return await self._failed(item, exc)
        return Handled(item.id, effects)

    async def _failed(self, item: InboxItem, exc: Exception) -> Failed:
        """The outcome of a failed try. Decided before anything is logged: a log line that
        cannot be written must not keep the event from being rescheduled or dead-lettered."""
        retry_at = self.policy.retry_at(item, exc, self._clock())
        error = f"{type(exc).__name__}: {exc}"
        notice = await self.dispatcher.dead_lettered(item, exc) if retry_at is None else []
        attempts = item.attempts + 1
        fields = {
            "item_id": item.id,
            "kind": item.kind,
            "psid": item.psid,
            "handler": handler_name(exc),
            "attempts": attempts,
        }
        try:
            if retry_at is None:
                log.error("inbox.dead", **fields, exc_info=exc)
            elif attempts == 1:
                # The first failure shows its traceback: that is when the author is watching.
                log.error("inbox.failed", **fields, retry_at=retry_at.isoformat(), exc_info=exc)
            else:
                log.warning("inbox.retry", **fields, error=error)
        except Exception:  # noqa: S110 - a broken log renderer; the outcome still stands
            pass
        return Failed(item.id, error, retry_at, notice)

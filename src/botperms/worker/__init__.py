"""Background work: the inbox (webhook events) and the outbox (sends)."""

from botperms.worker.handling import PROGRAMMING_ERRORS, RetryPolicy
from botperms.worker.inbox import InboxWorker
from botperms.worker.outbox import OutboxWorker

__all__ = ["PROGRAMMING_ERRORS", "InboxWorker", "OutboxWorker", "RetryPolicy"]

"""Background work: the inbox (webhook events) and the outbox (sends)."""

from botperms.worker.inbox import PROGRAMMING_ERRORS, InboxWorker, RetryPolicy
from botperms.worker.outbox import OutboxWorker

__all__ = ["PROGRAMMING_ERRORS", "InboxWorker", "OutboxWorker", "RetryPolicy"]

"""Background work: the inbox (webhook events) and the outbox (sends)."""

from botperms.worker.inbox import InboxWorker
from botperms.worker.outbox import OutboxWorker

__all__ = ["InboxWorker", "OutboxWorker"]

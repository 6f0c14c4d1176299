"""Storage: SQLAlchemy models and repositories, Alembic migrations, token encryption."""

from botperms.store.crypto import TokenCipher, new_key
from botperms.store.database import Database
from botperms.store.errors import (
    AttemptAlreadyConsumed,
    LinkCodeRefused,
    StorageUnavailable,
    StoreError,
    TicketAlreadyUsed,
    TokenDecryptError,
)
from botperms.store.records import (
    DeletionRequestRecord,
    GrantRecord,
    InboxItem,
    LoginAttemptRecord,
    NewInboxItem,
    OutboxItem,
    PendingIntentRecord,
)
from botperms.store.repositories import Store

__all__ = [
    "AttemptAlreadyConsumed",
    "Database",
    "DeletionRequestRecord",
    "GrantRecord",
    "InboxItem",
    "LinkCodeRefused",
    "LoginAttemptRecord",
    "NewInboxItem",
    "OutboxItem",
    "PendingIntentRecord",
    "StorageUnavailable",
    "Store",
    "StoreError",
    "TicketAlreadyUsed",
    "TokenCipher",
    "TokenDecryptError",
    "new_key",
]

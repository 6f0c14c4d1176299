"""Storage: SQLAlchemy models and repositories, Alembic migrations, token encryption."""

from botperms.store.crypto import TokenCipher, new_key
from botperms.store.database import Database
from botperms.store.errors import (
    AttemptAlreadyConsumed,
    StorageUnavailable,
    StoreError,
    TicketAlreadyUsed,
    TokenDecryptError,
)
from botperms.store.records import (
    GrantRecord,
    InboxItem,
    LoginAttemptRecord,
    NewInboxItem,
    OutboxItem,
)
from botperms.store.repositories import Store

__all__ = [
    "AttemptAlreadyConsumed",
    "Database",
    "GrantRecord",
    "InboxItem",
    "LoginAttemptRecord",
    "NewInboxItem",
    "OutboxItem",
    "StorageUnavailable",
    "Store",
    "StoreError",
    "TicketAlreadyUsed",
    "TokenCipher",
    "TokenDecryptError",
    "new_key",
]

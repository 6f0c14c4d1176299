"""Storage: SQLAlchemy models and repositories, Alembic migrations, token encryption."""

from botperms.store.batching import Batcher
from botperms.store.conversations import (
    Commit,
    ConversationEvents,
    ConversationSends,
    ConversationWork,
    GroupWork,
)
from botperms.store.crypto import TokenCipher, new_key
from botperms.store.database import Database
from botperms.store.effects import (
    CountIntentAsk,
    DropIntent,
    Effect,
    EventOutcome,
    ExpireGrant,
    Failed,
    Handled,
    Leave,
    QueueEvent,
    ReplayIntent,
    SaveIntent,
    Send,
)
from botperms.store.errors import (
    AttemptAlreadyConsumed,
    LinkCodeRefused,
    StaleCompletion,
    StorageUnavailable,
    StoreError,
    TicketAlreadyUsed,
    TokenDecryptError,
)
from botperms.store.housekeeping import PRUNE_KINDS, Retention
from botperms.store.inbox import (
    internal_event,
    login_failed_event,
    login_succeeded_event,
    replay_event,
)
from botperms.store.models import CONVERSATION_GROUPS, conversation_group
from botperms.store.operations import LoginCancelled
from botperms.store.outbox import SendOutcome
from botperms.store.page_directory import PageDirectory
from botperms.store.pages import PagePause, PageRecord
from botperms.store.queue_stats import QueueStats
from botperms.store.records import (
    DeletionRequestRecord,
    GrantRecord,
    InboxItem,
    LoginAttemptRecord,
    NewInboxItem,
    OutboxItem,
    PendingIntentRecord,
    conversation_of,
)
from botperms.store.repositories import Store
from botperms.store.roles import RoleLock, UnsafeSetup

__all__ = [
    "CONVERSATION_GROUPS",
    "PRUNE_KINDS",
    "AttemptAlreadyConsumed",
    "Batcher",
    "Commit",
    "ConversationEvents",
    "ConversationSends",
    "ConversationWork",
    "CountIntentAsk",
    "Database",
    "DeletionRequestRecord",
    "DropIntent",
    "Effect",
    "EventOutcome",
    "ExpireGrant",
    "Failed",
    "GrantRecord",
    "GroupWork",
    "Handled",
    "InboxItem",
    "Leave",
    "LinkCodeRefused",
    "LoginAttemptRecord",
    "LoginCancelled",
    "NewInboxItem",
    "OutboxItem",
    "PageDirectory",
    "PagePause",
    "PageRecord",
    "PendingIntentRecord",
    "QueueEvent",
    "QueueStats",
    "ReplayIntent",
    "Retention",
    "RoleLock",
    "SaveIntent",
    "Send",
    "SendOutcome",
    "StaleCompletion",
    "StorageUnavailable",
    "Store",
    "StoreError",
    "TicketAlreadyUsed",
    "TokenCipher",
    "TokenDecryptError",
    "UnsafeSetup",
    "conversation_group",
    "conversation_of",
    "internal_event",
    "login_failed_event",
    "login_succeeded_event",
    "new_key",
    "replay_event",
]

"""`Store`: the one object the rest of botperms uses to read and write its data.

It is assembled from one part per concern (grants, attempts, inbox, outbox), each in its own
module; the records it returns are re-exported here, where the interface names them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store.conversations import ConversationRepository
from botperms.store.housekeeping import HousekeepingRepository
from botperms.store.models import Grant, LoginAttempt
from botperms.store.operations import OperationsRepository
from botperms.store.pages import PageRepository
from botperms.store.profiles import ProfileRepository
from botperms.store.queue_stats import QueueStatsRepository
from botperms.store.records import (
    DeletionRequestRecord,
    GrantRecord,
    InboxItem,
    LoginAttemptRecord,
    NewInboxItem,
    OutboxItem,
    PendingIntentRecord,
)

__all__ = [
    "DeletionRequestRecord",
    "GrantRecord",
    "InboxItem",
    "LoginAttemptRecord",
    "NewInboxItem",
    "OutboxItem",
    "PendingIntentRecord",
    "Store",
]


class Store(
    OperationsRepository,
    ProfileRepository,
    PageRepository,
    HousekeepingRepository,
    QueueStatsRepository,
    ConversationRepository,
):
    """Users, grants, link codes, login attempts, pending intents, deletion requests, inbox,
    outbox, the profile cache and the pages over one `Database`.

    Every method runs in a transaction of its own. Writes that must commit together are store
    operations of their own (`record_login`, `inbox_complete`, …); the `session=` parameter
    of the smaller methods is for those operations, inside `store/`. Tokens and PKCE
    verifiers are encrypted with the `TokenCipher` before they reach the database.
    """

    async def reencrypt_tokens(self, *, session: AsyncSession | None = None) -> int:
        """Re-encrypt every stored token and verifier under the cipher's first key.

        Run after putting a new key first; afterwards older keys can be removed. Returns how
        many values were rewritten.
        """
        rewritten = 0
        async with self._tx(session) as tx:
            for grant in await tx.scalars(select(Grant)):
                grant.token_ciphertext = self._cipher.rotate(grant.token_ciphertext)
                rewritten += 1
            attempts = await tx.scalars(
                select(LoginAttempt).where(LoginAttempt.verifier_ciphertext.is_not(None))
            )
            for attempt in attempts:
                assert attempt.verifier_ciphertext is not None
                attempt.verifier_ciphertext = self._cipher.rotate(attempt.verifier_ciphertext)
                rewritten += 1
            rewritten += await self.page_reencrypt(session=tx)
            await tx.flush()
        return rewritten

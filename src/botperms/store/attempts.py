"""Login attempts: the server side of one OAuth round trip (state, PKCE verifier, outcome)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store.base import Repository, aware, clip, utcnow
from botperms.store.errors import AttemptAlreadyConsumed, StoreError, TicketAlreadyUsed
from botperms.store.models import LoginAttempt
from botperms.store.records import LoginAttemptRecord


class AttemptRepository(Repository):
    async def create_attempt(
        self,
        *,
        state_hash: str,
        ticket_id: str,
        page_id: str,
        psid: str,
        scopes: Sequence[str],
        flow: str,
        auth_type: str | None,
        linking_redirect_uri: str | None,
        code_verifier: str | None,
        browser_hash: str,
        client_kind: str,
        expires_at: datetime,
        session: AsyncSession | None = None,
    ) -> None:
        """Record a new attempt; a ticket can start one attempt only (`TicketAlreadyUsed`)."""
        row = LoginAttempt(
            state_hash=state_hash,
            ticket_id=ticket_id,
            page_id=page_id,
            psid=psid,
            scopes=list(scopes),
            flow=flow,
            auth_type=auth_type,
            linking_redirect_uri=linking_redirect_uri,
            verifier_ciphertext=self._encrypt_optional(code_verifier),
            browser_hash=browser_hash,
            client_kind=client_kind,
            created_at=utcnow(),
            expires_at=aware(expires_at),
        )
        async with self._tx(session) as tx:
            try:
                # A savepoint, so a caller's own transaction survives the conflict.
                async with tx.begin_nested():
                    tx.add(row)
            except IntegrityError:
                used = await tx.scalar(
                    select(LoginAttempt.state_hash).where(LoginAttempt.ticket_id == ticket_id)
                )
                if used is not None:
                    raise TicketAlreadyUsed() from None
                raise StoreError("a login attempt with this state already exists") from None

    async def consume_attempt(
        self, state_hash: str, now: datetime, *, session: AsyncSession | None = None
    ) -> LoginAttemptRecord | None:
        """Use the attempt up, once: returns it with `consumed_at` set and the verifier still in
        it, and forgets the verifier in the database.
        None if unknown; `AttemptAlreadyConsumed` if used before, also when two
        callbacks race (the conditional UPDATE lets exactly one of them through).
        """
        when = aware(now)
        async with self._tx(session) as tx:
            claimed = await tx.execute(
                update(LoginAttempt)
                .where(LoginAttempt.state_hash == state_hash)
                .where(LoginAttempt.consumed_at.is_(None))
                .values(consumed_at=when)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                exists = await tx.scalar(
                    select(LoginAttempt.state_hash).where(LoginAttempt.state_hash == state_hash)
                )
                if exists is None:
                    return None
                raise AttemptAlreadyConsumed()
            row = await tx.scalar(
                select(LoginAttempt)
                .where(LoginAttempt.state_hash == state_hash)
                .execution_options(populate_existing=True)
            )
            assert row is not None  # we hold the row: it was updated in this transaction
            record = self._attempt_record(row)
            # Cleared before the code exchange happens, so a replayed callback finds nothing.
            row.verifier_ciphertext = None
            await tx.flush()
            return record

    async def finish_attempt(
        self, state_hash: str, outcome: str, *, session: AsyncSession | None = None
    ) -> None:
        """Write how the attempt ended: "granted", "denied" or "failed:<reason>"."""
        async with self._tx(session) as tx:
            await tx.execute(
                update(LoginAttempt)
                .where(LoginAttempt.state_hash == state_hash)
                .values(outcome=clip(outcome))
                .execution_options(synchronize_session=False)
            )

    async def cancel_attempts(
        self, page_id: str, psid: str, *, reason: str, session: AsyncSession | None = None
    ) -> int:
        """End the person's logins still in progress (they unlinked or logged out meanwhile).

        Unfinished attempts (no outcome yet) get the outcome "cancelled:<reason>" and count as
        consumed: a callback still to come is refused, and one already exchanging its code
        finds the outcome when it goes to save the grant (`lock_attempt`) and saves nothing.
        Returns how many were cancelled.
        """
        async with self._tx(session) as tx:
            result = await tx.execute(
                update(LoginAttempt)
                .where(LoginAttempt.page_id == page_id, LoginAttempt.psid == psid)
                .where(LoginAttempt.outcome.is_(None))
                .values(
                    consumed_at=func.coalesce(LoginAttempt.consumed_at, utcnow()),
                    outcome=clip(f"cancelled:{reason}"),
                )
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def lock_attempt(
        self, state_hash: str, *, session: AsyncSession
    ) -> LoginAttemptRecord | None:
        """Re-read an attempt inside the caller's transaction, locked against a concurrent
        `cancel_attempts` until that transaction ends (row lock on PostgreSQL; SQLite's
        transactions are serialised already)."""
        async with self._tx(session) as tx:
            row = await tx.scalar(
                select(LoginAttempt)
                .where(LoginAttempt.state_hash == state_hash)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            return None if row is None else self._attempt_record(row)

    async def get_attempt(
        self, state_hash: str, *, session: AsyncSession | None = None
    ) -> LoginAttemptRecord | None:
        async with self._tx(session) as tx:
            row = await tx.get(LoginAttempt, state_hash, populate_existing=True)
            return None if row is None else self._attempt_record(row)

    async def ticket_used(self, ticket_id: str) -> bool:
        """Whether a login attempt was started with this ticket (so it cannot start another)."""
        async with self._db.read() as tx:
            found = await tx.scalar(
                select(LoginAttempt.state_hash).where(LoginAttempt.ticket_id == ticket_id)
            )
        return found is not None

    async def delete_expired_attempts(
        self, before: datetime, *, session: AsyncSession | None = None
    ) -> int:
        """Housekeeping: forget attempts that expired before `before`; returns how many."""
        async with self._tx(session) as tx:
            result = await tx.execute(
                delete(LoginAttempt)
                .where(LoginAttempt.expires_at < aware(before))
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def _attempt_record(self, row: LoginAttempt) -> LoginAttemptRecord:
        return LoginAttemptRecord(
            state_hash=row.state_hash,
            ticket_id=row.ticket_id,
            page_id=row.page_id,
            psid=row.psid,
            scopes=tuple(row.scopes),
            flow=row.flow,
            auth_type=row.auth_type,
            linking_redirect_uri=row.linking_redirect_uri,
            code_verifier=self._decrypt_optional(row.verifier_ciphertext),
            browser_hash=row.browser_hash,
            client_kind=row.client_kind,
            created_at=row.created_at,
            expires_at=row.expires_at,
            consumed_at=row.consumed_at,
            outcome=row.outcome,
        )

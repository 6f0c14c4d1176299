"""Writes of several rows that must commit together, for the flows and the bot: each is one
store operation (one transaction), so nothing outside ``store/`` opens a session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from botperms.store.completion import CompletionRepository
from botperms.store.deletion import DeletionRepository
from botperms.store.funnel import FunnelRepository, FunnelStep, bump
from botperms.store.inbox import login_failed_event, login_succeeded_event
from botperms.store.records import GrantRecord
from botperms.store.token_health import TokenHealthRepository


class LoginCancelled(Exception):
    """The attempt was cancelled (log-out, unlink) while its code was being exchanged."""


class OperationsRepository(
    CompletionRepository, DeletionRepository, FunnelRepository, TokenHealthRepository
):
    async def record_login(
        self,
        *,
        state_hash: str,
        page_id: str,
        psid: str,
        asid: str,
        access_token: str,
        scopes_granted: Sequence[str],
        scopes_declined: Sequence[str],
        expires_at: datetime | None,
        data_access_expires_at: datetime | None,
        flow: str,
        requested: Sequence[str],
        link_code: str | None = None,
        link_code_expires_at: datetime | None = None,
        funnel: Sequence[FunnelStep] = (),
    ) -> GrantRecord:
        """Store a finished login in one transaction: the person's ASID, the grant, the
        account-linking code (then the grant is "pending" until Messenger's ``linked``
        webhook), the attempt's outcome and, for an active grant, the on-login event;
        ``funnel``: the login funnel's steps this login reached, counted with it.

        Raises :class:`LoginCancelled` (storing nothing) when the attempt was cancelled
        meanwhile: the row is re-read under a lock, so a concurrent cancel waits or wins.
        """
        linking = link_code is not None
        async with self._db.session() as tx:
            current = await self.lock_attempt(state_hash, session=tx)
            if current is None or (current.outcome or "").startswith("cancelled"):
                raise LoginCancelled
            await self.upsert_user(page_id, psid, asid=asid, session=tx)
            grant = await self.save_grant(
                page_id=page_id,
                psid=psid,
                asid=asid,
                access_token=access_token,
                scopes_granted=list(scopes_granted),
                scopes_declined=list(scopes_declined),
                expires_at=expires_at,
                data_access_expires_at=data_access_expires_at,
                flow=flow,
                status="pending" if linking else "active",
                session=tx,
            )
            if link_code is not None:
                assert link_code_expires_at is not None
                await self.create_link_code(
                    code=link_code,
                    grant_id=grant.id,
                    page_id=page_id,
                    psid=psid,
                    expires_at=link_code_expires_at,
                    session=tx,
                )
            else:
                await self.inbox_add([login_succeeded_event(grant, requested)], session=tx)
            await self.finish_attempt(state_hash, "granted", session=tx)
            await bump(tx, funnel)
        return grant

    async def record_login_failure(
        self,
        *,
        state_hash: str | None,
        page_id: str,
        psid: str,
        reason: str,
        key: str,
        funnel: Sequence[FunnelStep] = (),
    ) -> None:
        """The attempt's outcome (if there is an attempt) and ``on_login_failed``'s event,
        together. ``key`` identifies what failed (the state hash or the ticket)."""
        async with self._db.session() as tx:
            if state_hash is not None:
                await self.finish_attempt(state_hash, f"failed:{reason}", session=tx)
            await self.inbox_add(
                [login_failed_event(page_id, psid, reason, attempt=key)], session=tx
            )
            await bump(tx, funnel)

    async def confirm_link_and_announce(
        self, *, code: str, page_id: str, psid: str, now: datetime
    ) -> GrantRecord:
        """Use the code up and queue the on-login path, in one transaction: a crash in between
        can neither lose the greeting nor, on redelivery, confirm twice. Raises
        ``LinkCodeRefused`` (``botperms.store.errors``)."""
        async with self._db.session() as tx:
            grant = await self.confirm_link(
                code=code, page_id=page_id, psid=psid, now=now, session=tx
            )
            requested = [*grant.scopes_granted, *grant.scopes_declined]
            await self.inbox_add([login_succeeded_event(grant, requested, linked=True)], session=tx)
            # Messenger confirmed the link: the person is back in the conversation.
            kind = await self.linked_client_kind(tx, page_id, psid)
            await bump(tx, [FunnelStep("account_link", kind, "back_in_messenger")])
        return grant

    async def deauthorize(self, asid: str) -> list[GrantRecord]:
        """The person removed the app: end their grants, logins in progress and intents."""
        async with self._db.session() as tx:
            revoked = await self.revoke_grants_by_asid(asid, reason="deauthorized", session=tx)
            for page_id, psid in {(grant.page_id, grant.psid) for grant in revoked}:
                await self.cancel_attempts(page_id, psid, reason="deauthorized", session=tx)
                await self.drop_pending_intent(page_id, psid, session=tx)
        return revoked

    async def delete_person(self, asid: str, *, code: str) -> dict[str, int]:
        """Erase the person and record the request under ``code``, in one transaction."""
        async with self._db.session() as tx:
            erased = await self.erase_person(asid, session=tx)
            await self.create_deletion_request(code=code, asid=asid, erased=erased, session=tx)
        return erased

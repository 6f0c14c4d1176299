"""What ``botperms tokens check`` reads and writes: the active grants, what Facebook's
``debug_token`` said of each, and the one "your access runs out" message per grant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store.base import aware
from botperms.store.effects import Send
from botperms.store.models import Grant, InboxEvent
from botperms.store.outbox import PERSON_KINDS, OutboxRepository

TokenCheck = Literal["valid", "expired", "invalid"]
NotifyOutcome = Literal["notified", "already notified", "outside the 24-hour window", "gone"]


@dataclass(frozen=True)
class TokenHealthRecord:
    """An active grant as the token check sees it. ``access_token`` is decrypted."""

    grant_id: int
    page_id: str
    psid: str
    flow: str
    access_token: str = field(repr=False)
    expires_at: datetime | None
    data_access_expires_at: datetime | None
    token_check: str | None
    token_checked_at: datetime | None
    expiry_notified_at: datetime | None


class TokenHealthRepository(OutboxRepository):
    async def grants_to_check(self) -> list[TokenHealthRecord]:
        """Every active grant, oldest first."""
        async with self._db.read() as tx:
            rows = (
                await tx.scalars(select(Grant).where(Grant.status == "active").order_by(Grant.id))
            ).all()
        return [
            TokenHealthRecord(
                grant_id=row.id,
                page_id=row.page_id,
                psid=row.psid,
                flow=row.flow,
                access_token=self._cipher.decrypt(row.token_ciphertext),
                expires_at=row.expires_at,
                data_access_expires_at=row.data_access_expires_at,
                token_check=row.token_check,
                token_checked_at=row.token_checked_at,
                expiry_notified_at=row.expiry_notified_at,
            )
            for row in rows
        ]

    async def record_token_check(
        self,
        grant_id: int,
        *,
        result: TokenCheck,
        now: datetime,
        expires_at: datetime | None = None,
        data_access_expires_at: datetime | None = None,
        reason: str | None = None,
    ) -> bool:
        """Store what ``debug_token`` said. A valid token's expiry dates are refreshed; an
        expired or invalid one ends the grant ("expired", as when a send is refused with 190),
        so the bot asks for a login next time. False if the grant was no longer active."""
        when = aware(now)
        values: dict[str, Any] = {"token_checked_at": when, "token_check": result}
        if result == "valid":
            values["expires_at"] = None if expires_at is None else aware(expires_at)
            if data_access_expires_at is not None:
                values["data_access_expires_at"] = aware(data_access_expires_at)
        else:
            values.update(
                status="expired", updated_at=when, revoked_at=when, revoke_reason=reason or result
            )
        async with self._tx(None) as tx:
            result_rows = await tx.execute(
                update(Grant)
                .where(Grant.id == grant_id, Grant.status == "active")
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return bool(getattr(result_rows, "rowcount", 0))

    async def notify_expiring(
        self,
        grant_id: int,
        *,
        message: dict[str, Any],
        now: datetime,
        window: timedelta,
        session: AsyncSession | None = None,
    ) -> NotifyOutcome:
        """Queue ``message`` for the grant's person once, and only inside Messenger's window
        (their last message younger than ``window``): the outbox row and the "notified" mark
        commit together, so two runs, or two processes, tell the person once."""
        cutoff = int((aware(now) - window).timestamp() * 1000)
        async with self._tx(session) as tx:
            grant = await tx.scalar(select(Grant).where(Grant.id == grant_id))
            if grant is None or grant.status != "active":
                return "gone"
            if grant.expiry_notified_at is not None:
                return "already notified"
            last = await tx.scalar(
                select(func.max(InboxEvent.event_time)).where(
                    InboxEvent.page_id == grant.page_id,
                    InboxEvent.psid == grant.psid,
                    InboxEvent.kind.in_(PERSON_KINDS),
                )
            )
            if last is None or last < cutoff:
                return "outside the 24-hour window"
            marked = await tx.execute(
                update(Grant)
                .where(Grant.id == grant_id, Grant.expiry_notified_at.is_(None))
                .values(expiry_notified_at=aware(now))
                .execution_options(synchronize_session=False)
            )
            if not getattr(marked, "rowcount", 0):
                return "already notified"  # another run got there in between
            await self._outbox_insert(tx, [Send(grant.page_id, grant.psid, message)])
        return "notified"

"""Pending intents: the event that needed a scope, kept until the person has logged in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store.base import Repository, aware, utcnow
from botperms.store.models import PendingIntent
from botperms.store.records import PendingIntentRecord


class IntentRepository(Repository):
    async def save_pending_intent(
        self,
        *,
        page_id: str,
        psid: str,
        scopes: Sequence[str],
        event: dict[str, Any],
        expires_at: datetime,
        session: AsyncSession | None = None,
    ) -> PendingIntentRecord:
        """Keep `event` for replay; a person has one intent at most, the newest wins."""
        now = utcnow()
        values = {
            "scopes": list(scopes),
            "event": event,
            "asks": 1,
            "created_at": now,
            "expires_at": aware(expires_at),
        }
        insert = self._insert(PendingIntent).values(page_id=page_id, psid=psid, **values)
        statement = insert.on_conflict_do_update(
            index_elements=[PendingIntent.page_id, PendingIntent.psid], set_=values
        )
        async with self._tx(session) as tx:
            await tx.execute(statement)
        return PendingIntentRecord(
            page_id=page_id,
            psid=psid,
            scopes=tuple(scopes),
            event=event,
            asks=1,
            created_at=now,
            expires_at=aware(expires_at),
        )

    async def bump_pending_intent(
        self, page_id: str, psid: str, *, session: AsyncSession | None = None
    ) -> int:
        """Count one more login prompt for the person's intent; 0 when there is none."""
        async with self._tx(session) as tx:
            asks = await tx.scalar(
                update(PendingIntent)
                .where(PendingIntent.page_id == page_id, PendingIntent.psid == psid)
                .values(asks=PendingIntent.asks + 1)
                .returning(PendingIntent.asks)
            )
            return int(asks or 0)

    async def pending_intent(
        self, page_id: str, psid: str, *, now: datetime, session: AsyncSession | None = None
    ) -> PendingIntentRecord | None:
        """The person's unexpired intent, left in place."""
        async with self._tx(session) as tx:
            row = await tx.get(PendingIntent, (page_id, psid), populate_existing=True)
            if row is None or row.expires_at <= aware(now):
                return None
            return _record(row)

    async def take_pending_intent(
        self, page_id: str, psid: str, *, now: datetime, session: AsyncSession | None = None
    ) -> PendingIntentRecord | None:
        """Remove and return the person's intent, once: of two racing takers one gets it.

        An expired intent is removed too, and None returned: a request from hours ago should
        not suddenly run.
        """
        async with self._tx(session) as tx:
            row = await tx.scalar(
                delete(PendingIntent)
                .where(PendingIntent.page_id == page_id, PendingIntent.psid == psid)
                .returning(PendingIntent)
            )
            if row is None or row.expires_at <= aware(now):
                return None
            return _record(row)

    async def drop_pending_intent(
        self, page_id: str, psid: str, *, session: AsyncSession | None = None
    ) -> bool:
        async with self._tx(session) as tx:
            result = await tx.execute(
                delete(PendingIntent)
                .where(PendingIntent.page_id == page_id, PendingIntent.psid == psid)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]


def _record(row: PendingIntent) -> PendingIntentRecord:
    return PendingIntentRecord(
        page_id=row.page_id,
        psid=row.psid,
        scopes=tuple(row.scopes),
        event=dict(row.event),
        asks=row.asks,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )

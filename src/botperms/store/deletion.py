"""Erasing a person (Facebook's data-deletion callback) and the record that it happened."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store.base import Repository, utcnow
from botperms.store.models import (
    DeletionRequest,
    Grant,
    InboxEvent,
    LinkCode,
    LoginAttempt,
    MessengerUser,
    OutboxMessage,
    PendingIntent,
    UserProfile,
)
from botperms.store.records import DeletionRequestRecord

# Every table holding something of a person, keyed by (page_id, psid); users last, since the
# other rows are found through them.
_PERSON_TABLES: tuple[Any, ...] = (
    Grant,
    LinkCode,
    PendingIntent,
    LoginAttempt,
    InboxEvent,
    OutboxMessage,
    UserProfile,
    MessengerUser,
)


def asid_hash(asid: str) -> str:
    return hashlib.sha256(b"asid:" + asid.encode()).hexdigest()


class DeletionRepository(Repository):
    async def erase_person(
        self, asid: str, *, session: AsyncSession | None = None
    ) -> dict[str, int]:
        """Delete every row about the app-scoped user `asid`, on every page; rows per table.

        The person is found through the ASID their login stored (on `messenger_users` and on
        `grants`); all their conversations' rows go, history included. Someone who never logged
        in has no ASID here, so nothing is found and every count is 0.
        """
        async with self._tx(session) as tx:
            users = select(MessengerUser.page_id, MessengerUser.psid).where(
                MessengerUser.asid == asid
            )
            grants = select(Grant.page_id, Grant.psid).where(Grant.asid == asid)
            people: set[tuple[str, str]] = set()
            for query in (users, grants):
                people.update((row[0], row[1]) for row in await tx.execute(query))
            erased: dict[str, int] = {}
            for table in _PERSON_TABLES:
                if not people:
                    erased[table.__tablename__] = 0
                    continue
                pair = tuple_(table.page_id, table.psid)
                condition: ColumnElement[bool] = pair.in_(sorted(people))
                if table is Grant:
                    condition = or_(condition, Grant.asid == asid)
                result = await tx.execute(
                    delete(table).where(condition).execution_options(synchronize_session=False)
                )
                erased[table.__tablename__] = int(result.rowcount)  # type: ignore[attr-defined]
            return erased

    async def create_deletion_request(
        self,
        *,
        code: str,
        asid: str,
        erased: dict[str, int],
        session: AsyncSession | None = None,
    ) -> DeletionRequestRecord:
        """Record a finished erasure under its confirmation code (the ASID only as a hash)."""
        now = utcnow()
        row = DeletionRequest(
            code=code,
            asid_hash=asid_hash(asid),
            status="done",
            erased=dict(erased),
            created_at=now,
            completed_at=now,
        )
        async with self._tx(session) as tx:
            tx.add(row)
            await tx.flush()
            return _record(row)

    async def deletion_request(
        self, code: str, *, session: AsyncSession | None = None
    ) -> DeletionRequestRecord | None:
        async with self._tx(session) as tx:
            row = await tx.get(DeletionRequest, code, populate_existing=True)
            return None if row is None else _record(row)


def _record(row: DeletionRequest) -> DeletionRequestRecord:
    return DeletionRequestRecord(
        code=row.code,
        status=row.status,
        erased={str(k): int(v) for k, v in row.erased.items()},
        created_at=row.created_at,
        completed_at=row.completed_at,
    )

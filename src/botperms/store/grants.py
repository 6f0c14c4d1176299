"""Messenger users and their grants (user access tokens, encrypted)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store import sqlite_hot
from botperms.store.base import Repository, aware, utcnow
from botperms.store.models import Grant, MessengerUser
from botperms.store.records import GrantRecord


class GrantRepository(Repository):
    # users

    async def upsert_user(
        self,
        page_id: str,
        psid: str,
        *,
        asid: str | None = None,
        first_name: str | None = None,
        locale: str | None = None,
        session: AsyncSession | None = None,
    ) -> None:
        """Create or update a person; None means "not known now", never "erase"."""
        now = utcnow()
        insert = self._insert(MessengerUser).values(
            page_id=page_id,
            psid=psid,
            asid=asid,
            first_name=first_name,
            locale=locale,
            created_at=now,
            updated_at=now,
        )
        table = MessengerUser.__table__.c
        statement = insert.on_conflict_do_update(
            index_elements=[table.page_id, table.psid],
            set_={
                "asid": func.coalesce(insert.excluded.asid, table.asid),
                "first_name": func.coalesce(insert.excluded.first_name, table.first_name),
                "locale": func.coalesce(insert.excluded.locale, table.locale),
                "updated_at": insert.excluded.updated_at,
            },
        )
        async with self._tx(session) as tx:
            await tx.execute(statement)

    # grants

    async def save_grant(
        self,
        *,
        page_id: str,
        psid: str,
        asid: str | None,
        access_token: str,
        scopes_granted: Sequence[str],
        scopes_declined: Sequence[str],
        expires_at: datetime | None,
        data_access_expires_at: datetime | None,
        flow: str,
        status: str = "active",
        session: AsyncSession | None = None,
    ) -> GrantRecord:
        """Store a new grant, marking the person's previous active one "replaced".

        A "pending" grant (account linking, until Messenger's `linked` webhook confirms it)
        replaces nothing yet: `confirm_link` makes it active.
        """
        if status not in ("active", "pending"):
            raise ValueError(f"a new grant is active or pending, not {status!r}")
        ciphertext = self._cipher.encrypt(access_token)
        expires = None if expires_at is None else aware(expires_at)
        data_expires = None if data_access_expires_at is None else aware(data_access_expires_at)
        # Two concurrent saves for one person can both find no active grant and both insert;
        # the partial unique index stops the second, and one more try sees the first's row.
        for attempt in range(2):
            try:
                async with self._tx(session) as tx:
                    now = utcnow()
                    if status == "active":
                        await tx.execute(
                            update(Grant)
                            .where(Grant.page_id == page_id, Grant.psid == psid)
                            .where(Grant.status == "active")
                            .values(status="replaced", updated_at=now)
                        )
                    row = Grant(
                        page_id=page_id,
                        psid=psid,
                        asid=asid,
                        token_ciphertext=ciphertext,
                        scopes_granted=list(scopes_granted),
                        scopes_declined=list(scopes_declined),
                        expires_at=expires,
                        data_access_expires_at=data_expires,
                        status=status,
                        flow=flow,
                        created_at=now,
                        updated_at=now,
                    )
                    tx.add(row)
                    await tx.flush()
                    return self._grant_record(row, access_token)
            except IntegrityError:
                if session is not None or attempt == 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def active_grant(
        self, page_id: str, psid: str, *, session: AsyncSession | None = None
    ) -> GrantRecord | None:
        query = select(Grant).where(
            Grant.page_id == page_id, Grant.psid == psid, Grant.status == "active"
        )
        if session is not None:
            row = await session.scalar(query)
        else:
            # A read: on SQLite it need not queue behind the writers.
            async with self._db.read() as tx:
                row = await tx.scalar(query)
        return None if row is None else self._grant_record(row)

    async def active_grants(
        self, people: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], GrantRecord]:
        """The active grants of many people at once (the worker reads them per batch)."""
        if not people:
            return {}
        wanted = sorted(set(people))
        if self._db.lane is not None:
            records: dict[tuple[str, str], GrantRecord] = {}
            for row in await self._db.lane.read(sqlite_hot.active_grants(wanted)):
                fields = sqlite_hot.grant_fields(row)
                token = self._cipher.decrypt(fields.pop("token_ciphertext"))
                records[(fields["page_id"], fields["psid"])] = GrantRecord(
                    access_token=token, **fields
                )
            return records
        table = cast(Table, Grant.__table__)
        person = (
            and_(table.c.page_id == wanted[0][0], table.c.psid == wanted[0][1])
            if len(wanted) == 1
            else tuple_(table.c.page_id, table.c.psid).in_(wanted)
        )
        # Core, not the ORM: the workers read grants for every batch of events.
        query = select(table).where(person, table.c.status == "active")
        async with self._db.read() as tx:
            connection = await tx.connection()
            found = (await connection.execute(query)).all()
        return {(row.page_id, row.psid): self._grant_record(cast(Grant, row)) for row in found}

    async def revoke_grant(
        self, page_id: str, psid: str, *, reason: str, session: AsyncSession | None = None
    ) -> GrantRecord | None:
        """End the person's active grant; returns it as revoked, or None if there was none.

        Pending (not yet confirmed) account-link grants of the person end too, silently: an
        unlink or log-out in the middle of linking must not be undone by a late `linked`.
        """
        async with self._tx(session) as tx:
            now = utcnow()
            await tx.execute(
                update(Grant)
                .where(Grant.page_id == page_id, Grant.psid == psid, Grant.status == "pending")
                .values(status="revoked", updated_at=now, revoked_at=now, revoke_reason=reason)
                .execution_options(synchronize_session=False)
            )
            return await self._end_grant(page_id, psid, "revoked", reason, tx)

    async def revoke_grants_by_asid(
        self, asid: str, *, reason: str, session: AsyncSession | None = None
    ) -> list[GrantRecord]:
        """End every active or pending grant of one app-scoped user (the app was removed)."""
        async with self._tx(session) as tx:
            now = utcnow()
            rows = await tx.scalars(
                update(Grant)
                .where(Grant.asid == asid, Grant.status.in_(("active", "pending")))
                .values(status="revoked", updated_at=now, revoked_at=now, revoke_reason=reason)
                .returning(Grant)
                .execution_options(synchronize_session=False)
            )
            return sorted((self._grant_record(row) for row in rows), key=lambda g: g.id)

    async def expire_grant(
        self, page_id: str, psid: str, *, reason: str, session: AsyncSession | None = None
    ) -> GrantRecord | None:
        """Mark the active grant "expired" (Facebook said the token is no longer valid)."""
        return await self._end_grant(page_id, psid, "expired", reason, session)

    async def grants_by_asid(
        self, asid: str, *, session: AsyncSession | None = None
    ) -> list[GrantRecord]:
        """Every active grant of one app-scoped user (deauthorize and data-deletion callbacks)."""
        async with self._tx(session) as tx:
            rows = await tx.scalars(
                select(Grant).where(Grant.asid == asid, Grant.status == "active").order_by(Grant.id)
            )
            return [self._grant_record(row) for row in rows]

    async def _end_grant(
        self, page_id: str, psid: str, status: str, reason: str, session: AsyncSession | None
    ) -> GrantRecord | None:
        async with self._tx(session) as tx:
            now = utcnow()
            row = await tx.scalar(
                update(Grant)
                .where(Grant.page_id == page_id, Grant.psid == psid, Grant.status == "active")
                .values(status=status, updated_at=now, revoked_at=now, revoke_reason=reason)
                .returning(Grant)
            )
            return None if row is None else self._grant_record(row)

    def _grant_record(self, row: Grant, access_token: str | None = None) -> GrantRecord:
        return GrantRecord(
            id=row.id,
            page_id=row.page_id,
            psid=row.psid,
            asid=row.asid,
            access_token=access_token or self._cipher.decrypt(row.token_ciphertext),
            scopes_granted=tuple(row.scopes_granted),
            scopes_declined=tuple(row.scopes_declined),
            expires_at=row.expires_at,
            data_access_expires_at=row.data_access_expires_at,
            status=row.status,
            flow=row.flow,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            revoke_reason=row.revoke_reason,
        )

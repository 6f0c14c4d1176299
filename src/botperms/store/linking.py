"""Account-linking authorization codes: issued after Login, confirmed by the `linked` webhook."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store.base import aware, utcnow
from botperms.store.errors import LinkCodeRefused
from botperms.store.grants import GrantRepository
from botperms.store.models import Grant, LinkCode
from botperms.store.records import GrantRecord


def link_code_hash(code: str) -> str:
    # The code is random and short-lived, so a plain SHA-256 is enough to make a leaked table
    # useless: nobody can turn a hash back into a code Messenger would hand us.
    return hashlib.sha256(b"link-code:" + code.encode()).hexdigest()


class LinkCodeRepository(GrantRepository):
    # Built on GrantRepository: confirming a code is a change of the person's grants.

    async def create_link_code(
        self,
        *,
        code: str,
        grant_id: int,
        page_id: str,
        psid: str,
        expires_at: datetime,
        session: AsyncSession | None = None,
    ) -> None:
        """Remember a code handed to Messenger for this person's pending grant (hashed)."""
        async with self._tx(session) as tx:
            tx.add(
                LinkCode(
                    code_hash=link_code_hash(code),
                    grant_id=grant_id,
                    page_id=page_id,
                    psid=psid,
                    created_at=utcnow(),
                    expires_at=aware(expires_at),
                )
            )
            await tx.flush()

    async def confirm_link(
        self,
        *,
        code: str,
        page_id: str,
        psid: str,
        now: datetime,
        session: AsyncSession | None = None,
    ) -> GrantRecord:
        """Use the code up and make its pending grant the person's active one.

        Raises `LinkCodeRefused` (and changes nothing) for a code we never issued, one used
        before, one past its expiry, one issued for another page or PSID, or one whose grant was
        revoked meanwhile (an unlink or log-out during linking). A mismatched code is not used up:
        whoever presents someone else's code must not be able to spoil it for its owner.
        """
        when = aware(now)
        hashed = link_code_hash(code)
        async with self._tx(session) as tx:
            row = await tx.get(LinkCode, hashed, populate_existing=True)
            if row is None:
                raise LinkCodeRefused("unknown")
            if row.page_id != page_id or row.psid != psid:
                raise LinkCodeRefused("mismatch")
            if row.used_at is not None:
                raise LinkCodeRefused("used")
            if row.expires_at <= when:
                raise LinkCodeRefused("expired")
            # Conditional update: of two racing confirmations exactly one gets the row.
            claimed = await tx.execute(
                update(LinkCode)
                .where(LinkCode.code_hash == hashed, LinkCode.used_at.is_(None))
                .values(used_at=when)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise LinkCodeRefused("used")
            grant = await tx.get(Grant, row.grant_id, populate_existing=True)
            if grant is None or grant.status != "pending":
                raise LinkCodeRefused("revoked")
            await tx.execute(
                update(Grant)
                .where(Grant.page_id == page_id, Grant.psid == psid, Grant.status == "active")
                .values(status="replaced", updated_at=when)
                .execution_options(synchronize_session=False)
            )
            await tx.flush()
            grant.status = "active"
            grant.updated_at = when
            await tx.flush()
            return self._grant_record(grant)

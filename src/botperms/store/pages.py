"""The pages a bot answers for (page tokens encrypted at rest) and each page's Send API pause.

The one-page shortcut (``BOTPERMS_PAGE_ID`` / ``BOTPERMS_PAGE_TOKEN``) is not stored here: the
`PageDirectory` puts it beside these rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store.base import Repository, aware, clip, utcnow
from botperms.store.errors import TokenDecryptError
from botperms.store.models import Page, PageBackoff


@dataclass(frozen=True)
class PageRecord:
    """A stored page. ``access_token`` is decrypted (and kept out of ``repr``)."""

    page_id: str
    name: str
    access_token: str = field(repr=False)
    subscribed_fields: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PagePause:
    """A page whose sends wait until ``paused_until``; ``strikes``: rate limits in a row."""

    page_id: str
    paused_until: datetime
    strikes: int
    reason: str | None


class PageRepository(Repository):
    async def page_save(
        self, page_id: str, name: str, access_token: str, subscribed_fields: Sequence[str]
    ) -> PageRecord:
        """Add a page or replace its name, token and fields (``pages add`` run again)."""
        now = utcnow()
        values = {
            "name": name,
            "token_ciphertext": self._cipher.encrypt(access_token),
            "subscribed_fields": list(subscribed_fields),
            "updated_at": now,
        }
        statement = (
            self._insert(Page)
            .values(page_id=page_id, created_at=now, **values)
            .on_conflict_do_update(index_elements=[Page.page_id], set_=values)
        )
        async with self._tx(None) as tx:
            await tx.execute(statement)
            row = await tx.scalar(
                select(Page)
                .where(Page.page_id == page_id)
                .execution_options(populate_existing=True)
            )
        assert row is not None
        return self._page_record(row, access_token)

    async def page_get(self, page_id: str) -> PageRecord | None:
        async with self._db.read() as tx:
            row = await tx.scalar(select(Page).where(Page.page_id == page_id))
        return None if row is None else self._page_record(row)

    async def page_list(self) -> list[PageRecord]:
        async with self._db.read() as tx:
            rows = (await tx.scalars(select(Page).order_by(Page.page_id))).all()
        return [self._page_record(row) for row in rows]

    async def page_tokens(self) -> dict[str, str]:
        """page id → token of every stored page whose token decrypts (the hot path's copy);
        a page whose key was dropped is left out, and ``pages list`` shows it."""
        async with self._db.read() as tx:
            rows = (await tx.execute(select(Page.page_id, Page.token_ciphertext))).all()
        tokens: dict[str, str] = {}
        for page_id, ciphertext in rows:
            try:
                tokens[page_id] = self._cipher.decrypt(ciphertext)
            except TokenDecryptError:
                continue
        return tokens

    async def page_remove(self, page_id: str) -> bool:
        """Forget a page (and its pause); False when it was not stored."""
        async with self._tx(None) as tx:
            await tx.execute(delete(PageBackoff).where(PageBackoff.page_id == page_id))
            result = await tx.execute(delete(Page).where(Page.page_id == page_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def page_reencrypt(self, *, session: AsyncSession | None = None) -> int:
        """Move every page token to the cipher's first key; returns how many."""
        async with self._tx(session) as tx:
            rows = (await tx.scalars(select(Page))).all()
            for row in rows:
                row.token_ciphertext = self._cipher.rotate(row.token_ciphertext)
            await tx.flush()
            return len(rows)

    def _page_record(self, row: Page, access_token: str | None = None) -> PageRecord:
        return PageRecord(
            page_id=row.page_id,
            name=row.name,
            access_token=access_token or self._cipher.decrypt(row.token_ciphertext),
            subscribed_fields=tuple(row.subscribed_fields),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    # -- the Send API pause per page (shared by every worker) -----------------------------

    async def page_pause(
        self, page_id: str, *, until: datetime, strikes: int, reason: str | None
    ) -> None:
        """Pause a page's sends until ``until``; a later pause already stored is kept."""
        values = {"strikes": strikes, "reason": clip(reason or ""), "updated_at": utcnow()}
        until = aware(until)
        insert = self._insert(PageBackoff).values(page_id=page_id, paused_until=until, **values)
        table = PageBackoff.__table__.c
        statement = insert.on_conflict_do_update(
            index_elements=[table.page_id],
            set_={**values, "paused_until": until},
            # Two workers hitting the limit together: the longer pause wins.
            where=table.paused_until < insert.excluded.paused_until,
        )
        async with self._tx(None) as tx:
            await tx.execute(statement)

    async def page_resume(self, page_id: str) -> None:
        """A send of the page went through: its pause and strikes are over."""
        async with self._tx(None) as tx:
            await tx.execute(delete(PageBackoff).where(PageBackoff.page_id == page_id))

    async def page_pauses(self) -> list[PagePause]:
        """Every stored pause (past ones too: their strikes still count until a good send)."""
        async with self._db.read() as tx:
            rows = (await tx.scalars(select(PageBackoff))).all()
        return [PagePause(r.page_id, r.paused_until, r.strikes, r.reason or None) for r in rows]

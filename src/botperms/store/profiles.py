"""The user-profile cache: a person's name as the User Profile API gave it, with a TTL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from botperms.store.base import Repository, aware, utcnow
from botperms.store.models import UserProfile


class ProfileRepository(Repository):
    async def cached_profile(
        self, page_id: str, psid: str, *, max_age: timedelta, now: datetime | None = None
    ) -> dict[str, Any] | None:
        """The cached profile, or None when there is none younger than ``max_age``."""
        async with self._db.read() as tx:
            row = await tx.scalar(
                select(UserProfile).where(UserProfile.page_id == page_id, UserProfile.psid == psid)
            )
        if row is None or row.fetched_at <= aware(now or utcnow()) - max_age:
            return None
        return dict(row.data)

    async def cache_profile(self, page_id: str, psid: str, data: dict[str, Any]) -> None:
        values = {"data": data, "fetched_at": utcnow()}
        statement = (
            self._insert(UserProfile)
            .values(page_id=page_id, psid=psid, **values)
            .on_conflict_do_update(
                index_elements=[UserProfile.page_id, UserProfile.psid], set_=values
            )
        )
        async with self._tx(None) as tx:
            await tx.execute(statement)

    async def forget_profiles(self, *, older_than: datetime) -> int:
        """Housekeeping: drop cache rows fetched before ``older_than``."""
        async with self._tx(None) as tx:
            result = await tx.execute(
                delete(UserProfile).where(UserProfile.fetched_at < aware(older_than))
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

"""The inbox: every event to handle, from a webhook or internal, deduplicated per page.

This module is the one intake: the webhook stores what Facebook sent through ``inbox_add``, and
the internal events (login outcomes, replays of waiting requests) are built here, by
:func:`internal_event` and its helpers, whichever layer queues them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.config import INTERNAL_FIELD
from botperms.store import sqlite_hot
from botperms.store.base import Repository, aware, utcnow
from botperms.store.models import InboxEvent, conversation_group
from botperms.store.records import (
    GrantRecord,
    InboxItem,
    NewInboxItem,
    PendingIntentRecord,
    conversation_of,
)


def internal_event(
    page_id: str,
    psid: str,
    key: str,
    kind: str,
    data: dict[str, Any],
    *,
    fields: dict[str, Any] | None = None,
) -> NewInboxItem:
    """An event botperms makes itself, shaped like a Messenger event of the conversation so it
    is handled in order with the person's messages. ``data`` goes under ``INTERNAL_FIELD``."""
    now = int(time.time() * 1000)
    payload = {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": now,
        **(fields or {}),
        INTERNAL_FIELD: data,
    }
    return NewInboxItem(
        event_key=key, page_id=page_id, psid=psid, kind=kind, payload=payload, event_time=now
    )


def login_succeeded_event(
    grant: GrantRecord, requested: Sequence[str], *, linked: bool = False
) -> NewInboxItem:
    """The on-login path for ``grant``: keyed on the grant, so announcing it twice stores it
    once. ``linked``: confirmed by Messenger's ``account_linking`` webhook."""
    return internal_event(
        grant.page_id,
        grant.psid,
        f"login:{grant.id}",
        "login",
        {"login": "succeeded", "requested": list(requested)},
        fields={"account_linking": {"status": "linked"}} if linked else None,
    )


def login_failed_event(page_id: str, psid: str, reason: str, *, attempt: str) -> NewInboxItem:
    """``on_login_failed`` for the person; ``attempt`` (the state hash or ticket id) keys it."""
    key = "login-failed:" + hashlib.sha256(f"{attempt}:{reason}".encode()).hexdigest()[:40]
    return internal_event(page_id, psid, key, "login", {"login": "failed", "reason": reason})


def replay_event(intent: PendingIntentRecord) -> NewInboxItem:
    """The waiting request queued again; the same intent always gives the same key."""
    original = json.dumps(intent.event, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(original.encode()).hexdigest()[:32]
    created = int(intent.created_at.timestamp() * 1000)
    payload = {**intent.event, INTERNAL_FIELD: {"replay": list(intent.scopes)}}
    now = int(time.time() * 1000)
    return NewInboxItem(
        event_key=f"replay:{digest}:{created}",
        page_id=intent.page_id,
        psid=intent.psid,
        kind="replay",
        payload=payload,
        event_time=now,
    )


# How many of the oldest pending events one read looks at (at least).
CANDIDATE_WINDOW = 2000


class InboxRepository(Repository):
    async def inbox_add(
        self, items: Sequence[NewInboxItem], *, session: AsyncSession | None = None
    ) -> int:
        """Store events in one statement; already-known (page_id, event_key) are skipped.

        Returns how many were new. The webhook is acknowledged only after this commits.
        """
        if not items:
            return 0
        now = utcnow()
        if session is None and self._db.lane is not None:
            received = sqlite_hot.stored_time(now)
            return await self._db.lane.write(
                sqlite_hot.inbox_add(
                    [
                        (
                            item.event_key,
                            item.page_id,
                            item.psid,
                            item.kind,
                            item.payload,
                            item.event_time,
                            int(item.standby),
                            conversation_group(item.psid),
                            received,
                        )
                        for item in items
                    ]
                )
            )
        rows = [
            {
                "event_key": item.event_key,
                "page_id": item.page_id,
                "psid": item.psid,
                "kind": item.kind,
                "payload": item.payload,
                "event_time": item.event_time,
                "standby": item.standby,
                "conversation_group": conversation_group(item.psid),
                "received_at": now,
                "status": "pending",
                "attempts": 0,
            }
            for item in items
        ]
        # One executemany of a cached statement (Core, not the ORM: this is the webhook's path).
        statement = self._insert(InboxEvent).on_conflict_do_nothing(
            index_elements=["page_id", "event_key"]
        )
        async with self._tx(session) as tx:
            connection = await tx.connection()
            if self._db.is_sqlite or len(rows) == 1:
                # SQLite's executemany sums the rows it inserted into rowcount.
                result = await connection.execute(statement, rows if len(rows) > 1 else rows[0])
            else:
                # asyncpg's executemany reports no count: one multi-row statement instead.
                result = await connection.execute(statement.values(rows))
            return int(result.rowcount)

    async def inbox_pending(
        self,
        now: datetime,
        limit: int,
        *,
        exclude: Collection[tuple[str, str]] = (),
        strict_order: bool = True,
    ) -> list[InboxItem]:
        """The oldest pending event of each conversation, oldest first, at most ``limit``.

        Conversations in ``exclude`` (being handled now) are left out. ``strict_order``: an
        event waiting for its retry holds back its conversation; otherwise the conversation's
        next due event goes ahead of it. Reads only: what is in hand is known by the caller.
        """
        if limit <= 0:
            return []
        when = aware(now)
        window_size = max(CANDIDATE_WINDOW, 4 * (limit + len(exclude)))
        if self._db.lane is not None:
            return await self._db.lane.read(
                sqlite_hot.inbox_pending(when, limit, window_size, exclude, strict_order)
            )
        table = cast(Table, InboxEvent.__table__)
        column = table.c
        # The oldest pending events by (event_time, id), a bounded window read from the index:
        # the first time a conversation shows up in it is its oldest pending event. A scan of
        # every pending row (a window function) grew with the backlog and stalled the worker.
        window = (
            select(column.id, column.page_id, column.psid)
            .where(column.status == "pending")
            .where(or_(column.retry_at.is_(None), column.retry_at <= when))
            .order_by(column.event_time, column.id)
            .limit(window_size)
        )
        # Conversations whose oldest event waits for a retry (few; their own index).
        waiting = (
            select(column.page_id, func.coalesce(column.psid, ""))
            .where(column.status == "pending", column.retry_at > when)
            .distinct()
        )
        async with self._db.read() as tx:
            connection = await tx.connection()
            candidates = (await connection.execute(window)).all()
            held = {(row[0], row[1]) for row in await connection.execute(waiting)}
            seen: set[tuple[str, str]] = set()
            chosen: list[int] = []
            for row in candidates:
                conversation = conversation_of(row.page_id, row.psid)
                if conversation in seen:
                    continue
                seen.add(conversation)
                if conversation in exclude or (strict_order and conversation in held):
                    continue
                chosen.append(row.id)
                if len(chosen) == limit:
                    break
            if not chosen:
                return []
            full = select(table).where(column.id.in_(chosen), column.status == "pending")
            rows = list((await connection.execute(full)).all())
        rows.sort(key=lambda row: (row.event_time, row.id))
        return [_inbox_item(row) for row in rows]

    async def inbox_recover(self, *, session: AsyncSession | None = None) -> int:
        """At start-up: events left "processing" (by a worker of an older version) go back
        to "pending". Returns how many."""
        async with self._tx(session) as tx:
            result = await tx.execute(
                update(InboxEvent)
                .where(InboxEvent.status == "processing")
                .values(status="pending")
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def inbox_counts(self, *, session: AsyncSession | None = None) -> dict[str, int]:
        """How many events are in each status (for metrics and the CLI)."""
        async with self._tx(session) as tx:
            rows = await tx.execute(
                select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
            )
            return {status: int(count) for status, count in rows.all()}

    async def inbox_list(self, *, status: str | None = None, limit: int = 1000) -> list[InboxItem]:
        """Events by id, optionally of one status (for the CLI and tests)."""
        query = select(InboxEvent).order_by(InboxEvent.id).limit(limit)
        if status is not None:
            query = query.where(InboxEvent.status == status)
        async with self._db.read() as tx:
            rows = (await tx.scalars(query)).all()
        return [_inbox_item(row) for row in rows]


def _inbox_item(row: Any) -> InboxItem:
    """From an ORM row or a Core row: both have the columns as attributes."""
    return InboxItem(
        id=row.id,
        event_key=row.event_key,
        page_id=row.page_id,
        psid=row.psid,
        kind=row.kind,
        payload=row.payload,
        event_time=row.event_time,
        attempts=row.attempts,
        standby=bool(row.standby),
        status=row.status,
        last_error=row.last_error,
    )

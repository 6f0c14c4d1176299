"""The hot path's statements for the SQLite lane (`sqlite_lane`), as plain SQL.

Each function returns the work of one transaction; the repositories run it on the lane and
keep the SQLAlchemy version of the same operation for PostgreSQL. Values are stored exactly
as SQLAlchemy stores them on SQLite (UTC datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff``, JSON
through ``json.dumps``, booleans as 0/1), so both read each other's rows; the store's contract
tests run every operation on both paths.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from botperms.store.effects import Failed, Handled, Send
from botperms.store.records import InboxItem, OutboxItem, conversation_of
from botperms.store.sqlite_lane import Work

_dumps = json.dumps
_loads = json.loads


def stored_time(value: datetime) -> str:
    """A datetime as SQLAlchemy's SQLite DATETIME stores it (UTC, naive, microseconds)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def read_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _ids(values: Sequence[Any]) -> str:
    # A list as one parameter, read back with json_each: each statement stays one constant
    # text (prepared once, in sqlite3's statement cache) whatever the list's length.
    return _dumps(list(values))


_INBOX_INSERT = (
    "INSERT INTO inbox (event_key, page_id, psid, kind, payload, event_time, standby,"
    " conversation_group, received_at, status, attempts)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0)"
    " ON CONFLICT (page_id, event_key) DO NOTHING"
)


def inbox_add(rows: Sequence[tuple[Any, ...]]) -> Work[int]:
    """``rows``: (event_key, page_id, psid, kind, payload, event_time, standby, group,
    received_at) with the payload still a dict. Returns how many were new."""
    encoded = [(*row[:4], _dumps(row[4]), *row[5:]) for row in rows]

    def work(connection: sqlite3.Connection) -> int:
        before = connection.total_changes
        connection.executemany(_INBOX_INSERT, encoded)
        return connection.total_changes - before

    return work


_INBOX_CHOSEN = (
    "SELECT id, event_key, page_id, psid, kind, payload, event_time, attempts, standby,"
    " last_error FROM inbox WHERE id IN (SELECT value FROM json_each(?)) AND +status = 'pending'"
)
# By primary key: the unary + and the order left to Python keep SQLite from answering it
# through the status index, which walked every pending event to find the few chosen ones and,
# under a backlog, cost the worker more than its handlers did.


def inbox_pending(
    now: datetime,
    limit: int,
    window: int,
    exclude: Collection[tuple[str, str]],
    strict_order: bool,
) -> Work[list[InboxItem]]:
    """The oldest pending event of each conversation (see `InboxRepository.inbox_pending`)."""
    when = stored_time(now)

    def work(connection: sqlite3.Connection) -> list[InboxItem]:
        candidates = connection.execute(
            "SELECT id, page_id, psid FROM inbox INDEXED BY ix_inbox_status_time"
            " WHERE status = 'pending' AND (retry_at IS NULL OR retry_at <= ?)"
            " ORDER BY event_time, id LIMIT ?",
            (when, window),
        ).fetchall()
        held = set(
            connection.execute(
                "SELECT DISTINCT page_id, coalesce(psid, '') FROM inbox"
                " WHERE status = 'pending' AND retry_at > ?",
                (when,),
            ).fetchall()
        )
        seen: set[tuple[str, str]] = set()
        chosen: list[int] = []
        for item_id, page_id, psid in candidates:
            conversation = conversation_of(page_id, psid)
            if conversation in seen:
                continue
            seen.add(conversation)
            if conversation in exclude or (strict_order and conversation in held):
                continue
            chosen.append(item_id)
            if len(chosen) == limit:
                break
        if not chosen:
            return []
        rows = connection.execute(_INBOX_CHOSEN, (_ids(chosen),)).fetchall()
        rows.sort(key=lambda row: (row[6], row[0]))
        return [
            InboxItem(
                id=row[0],
                event_key=row[1],
                page_id=row[2],
                psid=row[3],
                kind=row[4],
                payload=_loads(row[5]),
                event_time=row[6],
                attempts=row[7],
                standby=bool(row[8]),
                last_error=row[9],
            )
            for row in rows
        ]

    return work


_GRANTS = (
    "SELECT id, page_id, psid, asid, token_ciphertext, scopes_granted, scopes_declined,"
    " expires_at, data_access_expires_at, status, flow, created_at, revoked_at, revoke_reason"
    " FROM grants WHERE status = 'active' AND page_id = ?"
    " AND psid IN (SELECT value FROM json_each(?))"
)


def active_grants(people: Sequence[tuple[str, str]]) -> Work[list[tuple[Any, ...]]]:
    """The active grants' rows of ``people`` (page_id, psid), read per page."""
    by_page: dict[str, list[str]] = {}
    for page_id, psid in people:
        by_page.setdefault(page_id, []).append(psid)

    def work(connection: sqlite3.Connection) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for page_id, psids in by_page.items():
            rows += connection.execute(_GRANTS, (page_id, _ids(psids))).fetchall()
        return rows

    return work


def grant_fields(row: tuple[Any, ...]) -> dict[str, Any]:
    """A grant row of `active_grants` as GrantRecord's fields, the token still encrypted."""
    return {
        "id": row[0],
        "page_id": row[1],
        "psid": row[2],
        "asid": row[3],
        "token_ciphertext": row[4],
        "scopes_granted": tuple(_loads(row[5])),
        "scopes_declined": tuple(_loads(row[6])),
        "expires_at": read_time(row[7]),
        "data_access_expires_at": read_time(row[8]),
        "status": row[9],
        "flow": row[10],
        "created_at": read_time(row[11]),
        "revoked_at": read_time(row[12]),
        "revoke_reason": row[13],
    }


def sends_only(outcomes: Sequence[Handled | Failed]) -> bool:
    """Whether every effect of the batch is a message: the lane commits those; a batch with
    any other effect (intents, grants, internal events) takes the general path."""
    return all(isinstance(effect, Send) for o in outcomes for effect in o.effects)


_OUTBOX_INSERT = (
    "INSERT INTO outbox (page_id, psid, conversation_group, payload, messaging_type, tag,"
    " status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
)


def inbox_complete(
    done: Sequence[int],
    sends: Sequence[tuple[Send, int]],
    failed: Sequence[Failed],
    now: datetime,
    errors: Sequence[str],
) -> Work[None]:
    """Mark ``done`` handled with their ``sends`` (each with its conversation group) queued,
    and reschedule or dead-letter ``failed`` (``errors``: their clipped texts), in one
    transaction."""
    at = stored_time(now)
    outbox_rows = [
        (s.page_id, s.psid, group, _dumps(s.payload), s.messaging_type, s.tag, at, at)
        for s, group in sends
    ]
    failed_rows = [
        (
            "pending" if o.retry_at is not None else "failed",
            None if o.retry_at is None else stored_time(o.retry_at),
            error,
            None if o.retry_at is not None else at,
            o.item_id,
        )
        for o, error in zip(failed, errors, strict=True)
    ]

    def work(connection: sqlite3.Connection) -> None:
        if outbox_rows:
            connection.executemany(_OUTBOX_INSERT, outbox_rows)
        if done:
            connection.execute(
                "UPDATE inbox SET status = 'done', processed_at = ?, retry_at = NULL"
                " WHERE id IN (SELECT value FROM json_each(?))",
                (at, _ids(done)),
            )
        if failed_rows:
            connection.executemany(
                "UPDATE inbox SET status = ?, retry_at = ?, last_error = ?, processed_at = ?,"
                " attempts = attempts + 1 WHERE id = ?",
                failed_rows,
            )

    return work


# A conversation's head is its oldest message still pending or sending; the page filter is a
# JSON list of paused pages, often empty.
_OUTBOX_HEADS = (
    "SELECT o.id, o.page_id, o.psid, o.payload, o.messaging_type, o.tag, o.attempts,"
    " o.next_attempt_at, o.last_error, o.message_id, o.created_at"
    " FROM outbox AS o INDEXED BY ix_outbox_status_id"
    " WHERE o.status = 'pending' AND o.next_attempt_at <= ?"
    " AND o.page_id NOT IN (SELECT value FROM json_each(?))"
    " AND NOT EXISTS (SELECT 1 FROM outbox AS p WHERE p.status IN ('pending', 'sending')"
    " AND p.page_id = o.page_id AND p.psid = o.psid AND p.id < o.id)"
    " ORDER BY o.id LIMIT ?"
)


def outbox_claim(
    now: datetime,
    limit: int,
    exclude: Collection[tuple[str, str]],
    exclude_pages: Collection[str],
) -> Work[list[OutboxItem]]:
    """Mark the oldest due message of each free conversation "sending" and return them.

    A conversation's head is its oldest message still pending or sending; it is offered only
    if it is pending and due. This walks the pending messages by id and probes each one's
    conversation in the (status, page_id, psid, id) index, so it stops after ``limit`` heads
    instead of grouping the whole outbox, which grew with the backlog."""
    when = stored_time(now)
    pages = _ids(sorted(exclude_pages))

    def work(connection: sqlite3.Connection) -> list[OutboxItem]:
        rows = connection.execute(_OUTBOX_HEADS, (when, pages, limit + len(exclude))).fetchall()
        rows = [row for row in rows if (row[1], row[2]) not in exclude][:limit]
        if not rows:
            return []
        connection.execute(
            "UPDATE outbox SET status = 'sending' WHERE id IN (SELECT value FROM json_each(?))",
            (_ids([row[0] for row in rows]),),
        )
        return [
            OutboxItem(
                id=row[0],
                page_id=row[1],
                psid=row[2],
                payload=_loads(row[3]),
                messaging_type=row[4],
                tag=row[5],
                attempts=row[6],
                status="sending",
                next_attempt_at=read_time(row[7]),
                last_error=row[8],
                message_id=row[9],
                created_at=read_time(row[10]),
            )
            for row in rows
        ]

    return work


def outbox_finish(
    sent: Sequence[tuple[str | None, int]],
    others: Sequence[tuple[str, str, datetime, int]],
    now: datetime,
) -> Work[None]:
    """``sent``: (message_id, id); ``others``: (status, error, next attempt, id)."""
    at = stored_time(now)
    sent_rows = [(message_id, at, item_id) for message_id, item_id in sent]
    other_rows = [
        (status, error, stored_time(at_), item_id) for status, error, at_, item_id in others
    ]

    def work(connection: sqlite3.Connection) -> None:
        if sent_rows:
            connection.executemany(
                "UPDATE outbox SET status = 'sent', message_id = ?, sent_at = ?,"
                " attempts = attempts + 1 WHERE id = ?",
                sent_rows,
            )
        if other_rows:
            connection.executemany(
                "UPDATE outbox SET status = ?, last_error = ?, next_attempt_at = ?,"
                " attempts = attempts + 1 WHERE id = ?",
                other_rows,
            )

    return work

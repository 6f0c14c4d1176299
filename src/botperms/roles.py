"""The process roles of botperms and what connects the web part to the workers in each.

``embedded`` (``botperms serve``) runs both in one process: the web part wakes the in-process
workers. ``serve --processes 2`` splits the embedded role in two halves on one machine
(:class:`WebHalf`, :class:`HandlerHalf`): the web half hands deliveries over a Unix socket to
the handler half, which stores them and runs the workers (botperms.relay). ``web``
(``serve --web-only``) and ``worker`` (``botperms worker``) run apart on PostgreSQL: the web
part defers the queue engine's jobs. The composition root (``app.py``)
picks the wiring for the role it builds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from botperms.config import Settings
from botperms.relay import RelayClient
from botperms.store import Database, NewInboxItem, RoleLock, Store, UnsafeSetup
from botperms.worker.backlog import Backlog

if TYPE_CHECKING:
    from botperms.worker.engine import QueueEngine

log = structlog.get_logger(__name__)


class Role(StrEnum):
    EMBEDDED = "embedded"
    WEB = "web"
    WORKER = "worker"


@dataclass(frozen=True)
class WebHalf:
    """This process answers HTTP; ``command`` starts the handler half, which listens on
    ``socket``."""

    socket: Path
    command: tuple[str, ...]


@dataclass(frozen=True)
class HandlerHalf:
    """This process stores what arrives on ``socket`` and handles it; it was started by the
    web half, and holds the database lock it inherited."""

    socket: Path


Half = WebHalf | HandlerHalf


def nothing() -> None:
    return None


def always() -> bool:
    return True


def wake_inbox(signal: asyncio.Event) -> Callable[[str, str], None]:
    def wake(_page_id: str, _psid: str) -> None:
        signal.set()

    return wake


def defer_turn(engine: QueueEngine) -> Callable[[str, str], None]:
    """A replica that queued a login outcome defers the conversation's turn at once (the
    workers' sweep is the backstop if this fails)."""
    pending: set[asyncio.Task[None]] = set()

    async def one(page_id: str, psid: str) -> None:
        try:
            await engine.defer([(page_id, psid)])
        except Exception as exc:  # the sweep defers it a little later
            log.warning("queue.defer_failed", error=str(exc))

    def defer(page_id: str, psid: str) -> None:
        task = asyncio.get_running_loop().create_task(one(page_id, psid))
        pending.add(task)  # a reference, so the task is not collected before it runs
        task.add_done_callback(pending.discard)

    return defer


def intake_flush(
    store: Store, engine: QueueEngine | None, backlog: Backlog | None = None
) -> Callable[[Sequence[Sequence[NewInboxItem]]], Awaitable[list[None]]]:
    """``backlog`` (embedded): the commit waits while the in-process workers are behind."""

    async def flush(deliveries: Sequence[Sequence[NewInboxItem]]) -> list[None]:
        # Concurrent deliveries share one INSERT and one commit (group commit).
        items = [item for delivery in deliveries for item in delivery]
        if backlog is not None:
            await backlog.room()
        added = await store.inbox_add(items)
        if backlog is not None:
            backlog.added(added)
        if engine is not None:
            # After the commit, so a job never runs before its events are visible. A crash
            # in between leaves events with no job: the workers' sweep finds them, and so it
            # does when the deferral fails (the events are stored: Facebook still gets 200).
            try:
                await engine.defer((item.page_id, item.psid or "") for item in items)
            except Exception as exc:
                log.warning("queue.defer_failed", events=len(items), error=str(exc))
        return [None] * len(deliveries)

    return flush


def relay_flush(
    client: RelayClient,
) -> Callable[[Sequence[Sequence[NewInboxItem]]], Awaitable[list[None]]]:
    """The web half's intake: the deliveries gathered while the last hand-over was under way
    go to the handler half as one frame (which commits them in one transaction)."""

    async def flush(deliveries: Sequence[Sequence[NewInboxItem]]) -> list[None]:
        await client.submit([item for delivery in deliveries for item in delivery])
        return [None] * len(deliveries)

    return flush


def relay_wake(client: RelayClient) -> Callable[[str, str], None]:
    def wake(_page_id: str, _psid: str) -> None:
        client.wake()

    return wake


def refuse_sqlite_apart(database: Database, role: Role) -> None:
    """Web replicas and workers share their work through PostgreSQL only."""
    if database.is_sqlite and role is not Role.EMBEDDED:
        raise UnsafeSetup(
            "web replicas and workers need PostgreSQL (BOTPERMS_DATABASE_URL): on SQLite run "
            "the web part and the workers in one process with `botperms serve`"
        )


async def check_setup(settings: Settings, role: Role) -> None:
    """Refuse, before anything starts, a process that would make this database's setup unsafe
    (:class:`UnsafeSetup`, one readable line): a web replica or worker on SQLite, a second
    embedded process, or an embedded process beside distributed ones."""
    database = Database(settings.database_url)
    try:
        refuse_sqlite_apart(database, role)
        if database.is_sqlite:
            return
        lock = RoleLock(database, embedded=role is Role.EMBEDDED)
        await lock.acquire()
        await lock.release()
    finally:
        await database.dispose()

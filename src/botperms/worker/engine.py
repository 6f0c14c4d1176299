"""The distributed mode's queue engine: procrastinate on the shared PostgreSQL database.

A job is one turn of one conversation (``ConversationJob``). Every job of a conversation
carries the conversation as its procrastinate ``lock``, so jobs of one conversation run one at
a time and in the order they were deferred, whichever worker takes them, while different
conversations run in parallel on every worker.

Deferring happens after the events commit (procrastinate has its own connection pool), so a
crash in between can leave an event with no job. Each worker therefore sweeps: every few
seconds it defers a job for any conversation whose work has been due for a while (a lost
deferral, a retry that came due, a message queued by the CLI), and it retries the jobs of
workers that stopped sending heartbeats (``kill -9``). A job run twice is harmless: its events
are completed only if still pending, and its sends are claimed in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import structlog
from procrastinate import App, PsycopgConnector
from procrastinate import exceptions as pexc
from procrastinate.jobs import Job
from sqlalchemy.engine import make_url

from botperms.store import Store
from botperms.worker.conversation_job import ConversationJob

log = structlog.get_logger(__name__)

TASK = "botperms.conversation_turn"
# A timer for a later turn. It carries no conversation lock: a waiting job with the lock would
# hold back every newer job of the conversation until its time (procrastinate runs a lock's
# jobs strictly in order). When it fires, it defers the turn itself.
TIMER = "botperms.conversation_timer"
QUEUE = "conversations"
SCHEMA_LOCK = 0x626F7470  # pg_advisory_xact_lock key while the schema is applied


def libpq_url(database_url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy) as the plain libpq URL psycopg takes."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the distributed mode needs PostgreSQL (BOTPERMS_DATABASE_URL)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def lock_of(page_id: str, psid: str) -> str:
    return f"{page_id}:{psid}"


class QueueEngine:
    """Defers conversation turns (web replicas) and runs them (workers)."""

    def __init__(self, database_url: str, *, stalled_after: float = 30.0) -> None:
        self._conninfo = libpq_url(database_url)
        self.app = App(
            connector=PsycopgConnector(conninfo=self._conninfo, min_size=1, max_size=8)
        )
        self.stalled_after = stalled_after
        self._job: ConversationJob | None = None
        self._opened = False

        async def conversation_turn(page_id: str, psid: str) -> None:
            if self._job is None:  # pragma: no cover - only workers register a job
                raise RuntimeError("this process runs no conversation jobs")
            await self._job.run(page_id, psid)

        async def conversation_timer(page_id: str, psid: str) -> None:
            await self.defer_once(page_id, psid, tag="timer")

        self.app.task(name=TASK, queue=QUEUE)(conversation_turn)
        self.app.task(name=TIMER, queue=QUEUE)(conversation_timer)

    def bind(self, job: ConversationJob) -> None:
        """The job the workers of this process run (the composition root builds it after
        the engine, because the job defers its own later turns through the engine)."""
        self._job = job

    async def open(self) -> None:
        if not self._opened:
            await self.app.open_async()
            self._opened = True
            await self._ensure_schema()

    async def close(self) -> None:
        if self._opened:
            await self.app.close_async()
            self._opened = False

    async def _ensure_schema(self) -> None:
        # Several processes start at once: one applies procrastinate's schema, the others
        # wait on the advisory lock and then find it there.
        import psycopg

        schema = self.app.schema_manager.get_schema()
        connection = await psycopg.AsyncConnection.connect(self._conninfo)
        async with connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            found = await connection.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
            row = await found.fetchone()
            if not (row and row[0]):
                log.info("queue.schema_applied")
                await connection.execute(schema)
            # procrastinate checks "no earlier job of this lock" for each candidate job with an
            # index led by the job id: 1.4 ms a candidate with a few thousand jobs waiting,
            # which made fetching quadratic in the backlog. Led by the lock: 0.03 ms.
            await connection.execute(
                "CREATE INDEX IF NOT EXISTS botperms_jobs_lock_id ON procrastinate_jobs "
                "(lock, id) WHERE status IN ('todo', 'doing')"
            )

    # -- deferring ---------------------------------------------------------------------
    async def defer(self, conversations: Iterable[tuple[str, str]]) -> None:
        """One turn for each conversation (one INSERT for all of them)."""
        jobs = [self._new_job(page_id, psid) for page_id, psid in dict.fromkeys(conversations)]
        if jobs:
            await self.app.job_manager.batch_defer_jobs_async(jobs)

    async def defer_once(self, page_id: str, psid: str, *, tag: str = "sweep") -> bool:
        """A turn unless one with the same ``tag`` is already waiting (so sweeps and timers
        do not pile up jobs). True when a job was deferred."""
        job = self._new_job(page_id, psid, queueing_lock=f"{tag}:{lock_of(page_id, psid)}")
        return await self._defer_unless_waiting(job)

    async def _defer_unless_waiting(self, job: Job) -> bool:
        try:
            await self.app.job_manager.defer_job_async(job)
        except pexc.AlreadyEnqueued:
            return False
        return True

    def _new_job(
        self, page_id: str, psid: str, *, queueing_lock: str | None = None, timer: bool = False
    ) -> Job:
        return Job(
            id=None,
            queue=QUEUE,
            lock=None if timer else lock_of(page_id, psid),
            queueing_lock=queueing_lock,
            task_name=TIMER if timer else TASK,
            task_kwargs={"page_id": page_id, "psid": psid},
        )

    # -- running -------------------------------------------------------------------------
    async def run_worker(self, *, concurrency: int, name: str) -> None:
        """Run jobs until cancelled (the caller handles signals)."""
        heartbeat = max(0.5, self.stalled_after / 3)
        await self.app.run_worker_async(
            queues=[QUEUE],
            name=name,
            concurrency=concurrency,
            install_signal_handlers=False,
            update_heartbeat_interval=heartbeat,
            stalled_worker_timeout=self.stalled_after,
            delete_jobs="successful",
            fetch_job_polling_interval=1.0,
        )

    async def sweep(self, store: Store, *, older_than: timedelta) -> dict[str, int]:
        """One pass: retry the jobs of dead workers, then defer turns for work nobody has."""
        retried = 0
        stalled = await self.app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=self.stalled_after
        )
        for job in stalled:
            with contextlib.suppress(Exception):  # another worker's sweep retried it first
                await self.app.job_manager.retry_job(job)
                retried += 1
        due = await store.conversations_due(datetime.now(UTC), older_than=older_than)
        # Work that waits behind a job of its conversation (a backlog) is not lost: deferring
        # more turns for it would only add jobs that find nothing, and slow the backlog down.
        held = await self._locks_with_jobs([lock_of(page_id, psid) for page_id, psid in due])
        deferred = 0
        for page_id, psid in due:
            if lock_of(page_id, psid) not in held:
                deferred += await self.defer_once(page_id, psid)
        if retried or deferred:
            log.info("queue.swept", retried=retried, deferred=deferred)
        return {"retried": retried, "deferred": deferred}

    async def _locks_with_jobs(self, locks: list[str]) -> set[str]:
        if not locks:
            return set()
        rows = await self.app.connector.execute_query_all_async(
            "SELECT DISTINCT lock FROM procrastinate_jobs "
            "WHERE lock = ANY(%(locks)s) AND status IN ('todo', 'doing')",
            locks=locks,
        )
        return {row["lock"] for row in rows}

    async def sweep_forever(self, store: Store, *, every: float, older_than: timedelta) -> None:
        while True:
            try:
                await self.sweep(store, older_than=older_than)
            except Exception as exc:  # the database is away: try again next time
                log.warning("queue.sweep_failed", error=str(exc))
            await asyncio.sleep(every)

    async def later(self, page_id: str, psid: str, when: datetime) -> None:
        """A turn of the conversation at ``when`` (one timer per conversation at a time)."""
        job = self._new_job(
            page_id, psid, queueing_lock=f"later:{lock_of(page_id, psid)}", timer=True
        )
        await self._defer_unless_waiting(job.evolve(scheduled_at=when))

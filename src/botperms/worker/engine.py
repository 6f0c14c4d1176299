"""The distributed mode's queue engine: procrastinate on the shared PostgreSQL database.

A page's conversations fall into ``CONVERSATION_GROUPS`` groups (a hash of the PSID), and a job
is one turn of one group (``GroupTurn``): it handles the due work of every conversation
of the group. Every job of a group carries the group as its procrastinate ``lock``, so the jobs
of one group, and so of one conversation, run one at a time and in the order they were
deferred, whichever worker takes them, while different groups run in parallel on every worker.
At most one job per group waits at a time (a ``queueing_lock``): the job that runs reads all
that is due by then, so under a backlog a job handles many events and the queue's own cost per
event falls. One job per conversation paid procrastinate's fetch and finish and its own round
trips for every event.

Deferring happens after the events commit (procrastinate has its own connection pool), so a
crash in between can leave an event with no job. Each worker therefore sweeps: every few
seconds it defers a job for any conversation whose work has been due for a while (a lost
deferral, a retry that came due, a message queued by the CLI), and it retries the jobs of
workers that stopped sending heartbeats (``kill -9``). A job run twice is harmless: its events
are completed only if still pending, and its sends are claimed in order.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import structlog
from procrastinate import App, PsycopgConnector
from procrastinate import exceptions as pexc
from procrastinate.jobs import Job, Status
from sqlalchemy.engine import make_url

from botperms.store import Store, conversation_group
from botperms.worker.group_turn import GroupTurn

log = structlog.get_logger(__name__)

TASK = "botperms.group_turn"
# A timer for a later turn. It carries no group lock: a waiting job with the lock would hold
# back every newer job of the group until its time (procrastinate runs a lock's jobs strictly
# in order). When it fires, it defers the turn itself.
TIMER = "botperms.group_timer"
# The jobs of the version before groups (one per conversation), still in a queue after an
# upgrade: each becomes its conversation's group turn.
LEGACY_TASKS = ("botperms.conversation_turn", "botperms.conversation_timer")
QUEUE = "conversations"
SCHEMA_LOCK = 0x626F7470  # pg_advisory_xact_lock key while the schema is applied


def libpq_url(database_url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy) as the plain libpq URL psycopg takes."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the distributed mode needs PostgreSQL (BOTPERMS_DATABASE_URL)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def lock_of(page_id: str, group: int) -> str:
    return f"{page_id}:g{group}"


def groups_of(conversations: Iterable[tuple[str, str]]) -> list[tuple[str, int]]:
    return sorted({(page_id, conversation_group(psid)) for page_id, psid in conversations})


# procrastinate's batch defer fails the whole batch when one job's queueing lock is taken, and
# under load a group's next turn almost always waits already: so the deferral of a flush is one
# INSERT that skips the groups with a waiting turn. (The row is what defer_jobs would write;
# procrastinate's triggers notify the workers as for any job.)
DEFER_TURNS = """
INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args)
SELECT %(queue)s, %(task)s, turn.lock, 'turn:' || turn.lock, turn.args::jsonb
FROM unnest(%(locks)s::text[], %(args)s::text[]) AS turn(lock, args)
ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING
"""
SOONER = """
UPDATE procrastinate_jobs SET scheduled_at = LEAST(scheduled_at, %(when)s)
WHERE queueing_lock = %(lock)s AND status = 'todo'
"""


class QueueEngine:
    """Defers conversation turns (web replicas) and runs them (workers)."""

    def __init__(self, database_url: str, *, stalled_after: float = 30.0) -> None:
        self._conninfo = libpq_url(database_url)
        self._connector = PsycopgConnector(conninfo=self._conninfo, min_size=1, max_size=8)
        self.app = App(connector=self._connector)
        self.stalled_after = stalled_after
        self._job: GroupTurn | None = None
        self._opened = False

        async def group_turn(page_id: str, group: int) -> None:
            if self._job is None:  # pragma: no cover - only workers register a job
                raise RuntimeError("this process runs no conversation jobs")
            await self._job.run(page_id, group)

        async def group_timer(page_id: str, group: int) -> None:
            await self.defer_groups([(page_id, group)])

        async def legacy(page_id: str, psid: str) -> None:
            await self.defer([(page_id, psid)])

        self.app.task(name=TASK, queue=QUEUE)(group_turn)
        self.app.task(name=TIMER, queue=QUEUE)(group_timer)
        for name in LEGACY_TASKS:
            self.app.task(name=name, queue=QUEUE)(legacy)

    def bind(self, job: GroupTurn) -> None:
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
    async def defer(self, conversations: Iterable[tuple[str, str]]) -> int:
        """A turn for the group of each conversation, unless one is already waiting (one
        INSERT for all of them). Returns how many turns were deferred."""
        return await self.defer_groups(groups_of(conversations))

    async def defer_groups(self, groups: Sequence[tuple[str, int]]) -> int:
        if not groups:
            return 0
        locks = [lock_of(page_id, group) for page_id, group in groups]
        args = [json.dumps({"page_id": page_id, "group": group}) for page_id, group in groups]
        async with self._connector.pool.connection() as connection:
            cursor = await connection.execute(
                DEFER_TURNS, {"queue": QUEUE, "task": TASK, "locks": locks, "args": args}
            )
            return int(cursor.rowcount)

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
        """One pass: end the turns of dead workers and defer their groups again, then defer
        turns for work nobody has. Returns how many turns it ended and deferred."""
        stalled = await self.app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=self.stalled_after
        )
        # A dead worker's turn is ended, not retried: the group's next turn (there may be one
        # waiting already, which a retried job would collide with on the queueing lock) reads
        # all that is due, and takes the messages it left "sending" as ambiguous.
        orphaned: set[tuple[str, int]] = set()
        ended = 0
        for job in stalled:
            with contextlib.suppress(Exception):  # another worker's sweep ended it first
                await self.app.job_manager.finish_job(job, Status.FAILED, delete_job=True)
                ended += 1
                kwargs = job.task_kwargs
                if "group" in kwargs:
                    orphaned.add((str(kwargs["page_id"]), int(str(kwargs["group"]))))
                elif "psid" in kwargs:  # a job of the version before groups
                    orphaned.add((str(kwargs["page_id"]), conversation_group(str(kwargs["psid"]))))
        deferred = await self.defer_groups(sorted(orphaned)) if orphaned else 0
        filled = await store.conversation_groups_fill()
        if filled:
            log.warning("queue.rows_without_group", rows=filled)  # an old replica still runs
        # Work due for a while with no turn waiting: a lost deferral, a retry come due, a
        # message queued by the CLI. A group whose turn waits already is skipped by the insert.
        due = groups_of(await store.conversations_due(datetime.now(UTC), older_than=older_than))
        deferred += await self.defer_groups(due)
        if ended or deferred:
            log.info("queue.swept", ended=ended, deferred=deferred)
        return {"ended": ended, "deferred": deferred}

    async def later(self, page_id: str, group: int, when: datetime) -> None:
        """A turn of the group at ``when``. One timer per group waits at a time; asked for
        again, it fires at the sooner of the two times (the turn it starts handles all that
        is due then, and asks for the next timer if something still waits)."""
        job = Job(
            id=None,
            queue=QUEUE,
            lock=None,
            queueing_lock=f"later:{lock_of(page_id, group)}",
            task_name=TIMER,
            task_kwargs={"page_id": page_id, "group": group},
            scheduled_at=when,
        )
        try:
            await self.app.job_manager.defer_job_async(job)
        except pexc.AlreadyEnqueued:
            # The group's timer waits already: make it fire by ``when`` if that is sooner.
            async with self._connector.pool.connection() as connection:
                await connection.execute(SOONER, {"lock": job.queueing_lock, "when": when})

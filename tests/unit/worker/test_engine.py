"""The queue engine on a real PostgreSQL and procrastinate: one waiting turn per group however
often its conversations are deferred, a timer that only moves sooner, the sweep that defers
orphaned work and ends a dead worker's turn, and a worker that runs the turns (and the jobs of
the version before groups)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import psycopg
import pytest
from sqlalchemy import make_url

from botperms.store import Database, NewInboxItem, Store, TokenCipher, conversation_group, new_key
from botperms.worker.engine import TASK, QueueEngine, lock_of
from botperms.worker.group_turn import GroupTurn
from tests.postgres import postgres_server_url

pytestmark = pytest.mark.postgres
PAGE = "page1"


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    server = postgres_server_url()
    name = f"botperms_engine_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq(server), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(libpq(server), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    database = Database(database_url)
    await database.migrate()
    yield Store(database, TokenCipher([new_key()]))
    await database.dispose()


@pytest.fixture
async def engine(database_url: str, store: Store) -> AsyncIterator[QueueEngine]:
    queue = QueueEngine(database_url, stalled_after=5)
    await queue.open()
    yield queue
    await queue.close()


def jobs(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(libpq(database_url)) as connection:
        connection.row_factory = psycopg.rows.dict_row  # type: ignore[assignment]
        return cast(
            list[dict[str, Any]],
            connection.execute(
                "SELECT task_name, lock, queueing_lock, args, status, scheduled_at "
                "FROM procrastinate_jobs ORDER BY id"
            ).fetchall(),
        )


def people(count: int, *, group: int | None = None) -> list[str]:
    """``count`` PSIDs in one group (``group``, or the first to fill)."""
    seen: dict[int, list[str]] = {}
    for n in range(10_000):
        psid = f"p{n}"
        g = conversation_group(psid)
        if group is not None and g != group:
            continue
        seen.setdefault(g, []).append(psid)
        if len(seen[g]) == count:
            return seen[g]
    raise AssertionError("no such group")


async def test_a_group_has_one_turn_waiting_however_often_it_is_deferred(
    engine: QueueEngine, database_url: str
) -> None:
    alice, bob = people(2)
    (carol,) = [p for p in people(3) if conversation_group(p) != conversation_group(alice)][:1]
    assert await engine.defer([(PAGE, alice), (PAGE, bob), (PAGE, carol)]) == 2
    assert await engine.defer([(PAGE, bob)]) == 0  # alice's and bob's group waits already
    waiting = jobs(database_url)
    assert {job["task_name"] for job in waiting} == {TASK}
    assert {(job["args"]["page_id"], job["args"]["group"]) for job in waiting} == {
        (PAGE, conversation_group(alice)),
        (PAGE, conversation_group(carol)),
    }
    assert all(job["queueing_lock"] == f"turn:{job['lock']}" for job in waiting)


async def test_a_groups_timer_only_ever_moves_sooner(
    engine: QueueEngine, database_url: str
) -> None:
    now = datetime.now(UTC)
    await engine.later(PAGE, 7, now + timedelta(minutes=10))
    await engine.later(PAGE, 7, now + timedelta(seconds=30))
    await engine.later(PAGE, 7, now + timedelta(minutes=5))
    (timer,) = jobs(database_url)
    assert abs(timer["scheduled_at"] - (now + timedelta(seconds=30))) < timedelta(seconds=1)
    assert timer["lock"] is None  # a waiting timer must not hold the group's turns back


async def test_the_sweep_defers_orphaned_work_once(
    engine: QueueEngine, store: Store, database_url: str
) -> None:
    (alice,) = people(1)
    await store.inbox_add([NewInboxItem("e1", PAGE, alice, "message", {}, 1)])
    # Not due for the sweep yet: the deferral after the commit is expected to come.
    assert (await engine.sweep(store, older_than=timedelta(seconds=60)))["deferred"] == 0
    assert (await engine.sweep(store, older_than=timedelta(0)))["deferred"] == 1
    # Its turn waits now: a second sweep adds nothing.
    assert (await engine.sweep(store, older_than=timedelta(0)))["deferred"] == 0
    assert [job["lock"] for job in jobs(database_url)] == [lock_of(PAGE, conversation_group(alice))]


async def test_a_dead_workers_turn_is_ended_and_its_group_deferred_again(
    engine: QueueEngine, store: Store, database_url: str
) -> None:
    group = conversation_group(people(1)[0])
    lock = lock_of(PAGE, group)
    with psycopg.connect(libpq(database_url), autocommit=True) as connection:
        (worker,) = connection.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '1 hour') RETURNING id"
        ).fetchone() or (None,)
        # The dead worker's turn, and the group's next turn already waiting behind it.
        for status, worker_id in (("doing", worker), ("todo", None)):
            connection.execute(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, "
                "args, status, worker_id) VALUES ('conversations', %s, %s, %s, %s, %s, %s)",
                (
                    TASK,
                    lock,
                    f"turn:{lock}" if status == "todo" else None,
                    psycopg.types.json.Jsonb({"page_id": PAGE, "group": group}),
                    status,
                    worker_id,
                ),
            )
    swept = await engine.sweep(store, older_than=timedelta(seconds=60))
    # Ended, not retried (a retry would collide with the waiting turn's queueing lock and
    # leave the group locked for good); the waiting turn does the work.
    assert swept == {"ended": 1, "deferred": 0}
    assert [(job["status"], job["lock"]) for job in jobs(database_url)] == [("todo", lock)]


class Recorded(GroupTurn):
    def __init__(self) -> None:
        self.turns: list[tuple[str, int]] = []

    async def run(self, page_id: str, group: int) -> None:
        self.turns.append((page_id, group))


async def test_a_worker_runs_the_turns_and_the_jobs_of_the_version_before_groups(
    engine: QueueEngine, database_url: str
) -> None:
    recorded = Recorded()
    engine.bind(recorded)
    (alice,) = people(1)
    await engine.defer([(PAGE, alice)])
    # A job an older version queued: one conversation's turn.
    with psycopg.connect(libpq(database_url), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args) "
            "VALUES ('conversations', 'botperms.conversation_turn', %s, %s)",
            (f"{PAGE}:bob", psycopg.types.json.Jsonb({"page_id": PAGE, "psid": "bob"})),
        )
    worker = asyncio.create_task(engine.run_worker(concurrency=4, name="test-worker"))
    try:
        deadline = asyncio.get_running_loop().time() + 20
        wanted = {(PAGE, conversation_group(alice)), (PAGE, conversation_group("bob"))}
        while set(recorded.turns) != wanted:
            assert asyncio.get_running_loop().time() < deadline, recorded.turns
            await asyncio.sleep(0.05)
    finally:
        worker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await worker
    assert jobs(database_url) == []  # finished jobs are deleted

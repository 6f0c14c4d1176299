"""Operations as real processes: ``botperms db prune`` on an old database, and ``botperms
serve`` with /metrics on its own port (and off), showing the queue gauges."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Table, insert

from botperms.store import Database
from botperms.store.models import InboxEvent, OutboxMessage
from tests.e2e.servers import free_port

PAGE_ID = "456"


def env_for(db: Path, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOTPERMS_")}
    env.update(
        {
            "BOTPERMS_APP_ID": "123",
            "BOTPERMS_APP_SECRET": "ops-app-secret",
            "BOTPERMS_VERIFY_TOKEN": "ops-verify",
            "BOTPERMS_PAGE_ID": PAGE_ID,
            "BOTPERMS_PAGE_TOKEN": "EAAopspagetoken",
            "BOTPERMS_PUBLIC_URL": "http://127.0.0.1:9",
            # Nothing here calls Facebook; a closed port makes sure of it.
            "BOTPERMS_GRAPH_URL": f"http://127.0.0.1:{free_port()}",
            "BOTPERMS_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
            "BOTPERMS_TOKEN_KEYS": Fernet.generate_key().decode(),
            "BOTPERMS_LOG_LEVEL": "WARNING",
        }
    )
    env.update(overrides)
    return env


async def seed(db: Path) -> None:
    """A database with a month of history: old and fresh done rows, and a dead letter."""
    database = Database(f"sqlite+aiosqlite:///{db}")
    await database.migrate()
    now = datetime.now(UTC)

    def inbox(n: int, when: datetime, tag: str) -> list[dict[str, Any]]:
        return [
            {
                "event_key": f"{tag}{i}",
                "page_id": PAGE_ID,
                "psid": "p1",
                "kind": "message",
                "payload": {},
                "standby": False,
                "event_time": int(when.timestamp() * 1000),
                "received_at": when,
                "status": "done",
                "attempts": 1,
            }
            for i in range(n)
        ]

    def outbox(n: int, status: str, when: datetime) -> list[dict[str, Any]]:
        return [
            {
                "page_id": PAGE_ID,
                "psid": "p1",
                "payload": {"text": "x"},
                "messaging_type": "RESPONSE",
                "status": status,
                "attempts": 1,
                "next_attempt_at": when,
                "created_at": when,
            }
            for _ in range(n)
        ]

    async with database.engine.begin() as connection:
        await connection.execute(
            insert(cast(Table, InboxEvent.__table__)),
            inbox(2300, now - timedelta(days=20), "old") + inbox(40, now, "new"),
        )
        await connection.execute(
            insert(cast(Table, OutboxMessage.__table__)),
            outbox(700, "sent", now - timedelta(days=20)) + outbox(1, "dead", now),
        )
    await database.dispose()


def rows_of(table_output: str) -> dict[str, list[str]]:
    """A Rich table's rows by their first cell."""
    rows = [line.split("│")[1:-1] for line in table_output.splitlines() if "│" in line]
    return {cells[0].strip(): [cell.strip() for cell in cells] for cells in rows if cells}


def test_db_prune_removes_old_rows_and_says_what_went(tmp_path: Path) -> None:
    db = tmp_path / "ops.db"
    asyncio.run(seed(db))
    done = subprocess.run(
        [sys.executable, "-m", "botperms.cli", "db", "prune", "--batch-size", "500"],
        env=env_for(db),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    cells = rows_of(done.stdout)
    assert cells["inbox_done"][-1] == "2300"
    assert cells["outbox_sent"][-1] == "700"
    assert cells["outbox_dead"][-1] == "0"  # a young dead letter stays, for `outbox retry`
    assert cells["inbox"] == ["inbox", "2340", "40"]
    assert cells["outbox"] == ["outbox", "701", "1"]
    # A second run finds nothing left to remove.
    again = subprocess.run(
        [sys.executable, "-m", "botperms.cli", "db", "prune"],
        env=env_for(db),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Removed (0 rows)" in again.stdout


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    processes: list[subprocess.Popen[str]] = []

    def start(**env: str) -> int:
        db = tmp_path / "serve.db"
        asyncio.run(seed(db))
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "botperms.cli", "serve", "--port", str(port)],
            env=env_for(db, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    return port
            except httpx.TransportError:
                time.sleep(0.2)
        process.kill()
        raise AssertionError(f"serve did not come up: {process.communicate()[0]}")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=20)


def scrape_until(port: int, wanted: str) -> str:
    """The exposition once it shows ``wanted`` (the first passes run as serve starts)."""
    deadline = time.monotonic() + 15
    while True:
        scrape = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert scrape.status_code == 200
        if wanted in scrape.text or time.monotonic() > deadline:
            return scrape.text
        time.sleep(0.2)


def test_metrics_on_their_own_port_with_the_queue_gauges(serve: Any) -> None:
    metrics_port = free_port()
    port = serve(BOTPERMS_METRICS_PORT=str(metrics_port))
    assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 404
    # A sample, not the metric's name: its HELP line shows before the first pass has run.
    text = scrape_until(metrics_port, 'botperms_housekeeping_removed_total{kind="inbox_done"}')
    assert f'botperms_dead_letters{{page="{PAGE_ID}"}} 1.0' in text
    assert f'botperms_outbox_depth{{page="{PAGE_ID}",status="dead"}} 1.0' in text
    assert 'botperms_inbox_depth{status="pending"} 0.0' in text
    assert 'botperms_oldest_pending_seconds{queue="outbox"} 0.0' in text
    # The workers' housekeeping ran at start and counted what it removed.
    assert 'botperms_housekeeping_removed_total{kind="inbox_done"} 2300.0' in text


def test_metrics_off_serves_them_nowhere(serve: Any) -> None:
    metrics_port = free_port()
    port = serve(BOTPERMS_METRICS="off", BOTPERMS_METRICS_PORT=str(metrics_port))
    assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 404
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")


def test_a_metrics_port_in_use_is_one_readable_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        metrics_port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "botperms.cli", "serve", "--port", str(free_port())],
            env=env_for(tmp_path / "x.db", BOTPERMS_METRICS_PORT=str(metrics_port)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"port {metrics_port} is in use" in done.stderr
    assert "BOTPERMS_METRICS_PORT" in done.stderr
    assert "Traceback" not in done.stderr

"""The scaling benchmark: the embedded default beside the distributed mode on PostgreSQL with 1
and 2 workers, in one run, against one instant local Send API.

    make bench-scaling
    .venv/bin/python bench/scaling.py --seconds 10 --only pg-1-worker --only pg-2-workers

Targets (each a fresh database, real processes on free 127.0.0.1 ports, the echo bot):

- ``embedded-sqlite``: ``botperms serve`` on SQLite (the default);
- ``embedded-pg``: ``botperms serve`` on PostgreSQL;
- ``pg-1-worker`` / ``pg-2-workers``: one ``serve --web-only`` replica and 1 or 2
  ``botperms worker`` processes (procrastinate).

wrk posts distinct signed deliveries for ``--seconds``; then the run waits for the backlog to
drain. For each: acknowledged req/s, replies/s over the whole run (first request to last
reply, so a backlog counts against it), drain time, the CPU seconds each role used, and from
them replies per CPU-second of the processes that handle events (the workers; in the embedded
mode the one process, which also does the web part). That last figure is the one compared
across modes: on a 2-core machine shared with wrk, the Send API and PostgreSQL, wall-clock
replies/s of 2 workers cannot show per-worker capacity. The audit counts lost messages (stored,
never answered), unacknowledged ones (never stored: Facebook would redeliver them) and
duplicated replies. Needs wrk and the local PostgreSQL (BOTPERMS_TEST_POSTGRES_URL or
127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pipeline import (  # after the path is set
    HERE,
    ROOT,
    botperms_env,
    free_port,
    reset,
    stats,
    stored_texts,
    wait_up,
    write_deliveries,
    wrk_totals,
)

console = Console(stderr=True)
TARGETS = ["embedded-sqlite", "embedded-pg", "pg-1-worker", "pg-2-workers"]
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def postgres_cpu_seconds() -> float:
    """utime + stime of every PostgreSQL server process on this machine (the local server)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        name = text[text.find("(") + 1 : text.rfind(")")]
        if name == "postgres":
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def stored_texts_at(database_url: str) -> set[str]:
    """The message texts the target stored (acknowledged), on SQLite or PostgreSQL."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return stored_texts(Path(str(url.database)))
    with psycopg.connect(libpq(database_url)) as connection:
        rows = connection.execute("SELECT payload->'message'->>'text' FROM inbox").fetchall()
    return {row[0] for row in rows if row[0] is not None}


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Result:
    target: str
    requests_per_s: float = 0.0
    replies: int = 0
    replies_per_s: float = 0.0
    drain_s: float = 0.0
    web_cpu_s: float = 0.0
    handler_cpu_s: float = 0.0
    postgres_cpu_s: float = 0.0
    sent_messages: int = 0
    lost: int = 0  # stored (acknowledged), never answered
    unacked: int = 0  # never stored: not acknowledged, so Facebook would send it again
    duplicated: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def replies_per_handler_cpu_s(self) -> float:
        return self.replies / self.handler_cpu_s if self.handler_cpu_s else 0.0


class Processes:
    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.all: list[subprocess.Popen[bytes]] = []

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"process-{len(self.all)}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "botperms.cli", *args],
            cwd=ROOT, env=self.env, stdout=log, stderr=log,
        )  # fmt: skip
        self.all.append(process)
        return process

    def stop(self) -> None:
        for process in self.all:
            if process.poll() is None:
                process.terminate()
        for process in self.all:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def run_one(target: str, args: argparse.Namespace, send_api: str, pg_url: str) -> Result:
    result = Result(target)
    folder = Path(tempfile.mkdtemp(prefix="botperms-scaling-"))
    database_name = f"botperms_bench_{secrets.token_hex(4)}"
    uses_pg = target != "embedded-sqlite"
    if uses_pg:
        with psycopg.connect(libpq(pg_url), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database_name}"')
        database_url = make_url(pg_url).set(database=database_name).render_as_string(False)
    else:
        database_url = f"sqlite+aiosqlite:///{folder / 'botperms.db'}"
    port = free_port()
    env = {**os.environ, **botperms_env(port, send_api, database_url)}
    processes = Processes(env, folder)
    try:
        tag = f"{target}-{int(time.time())}"
        deliveries = folder / "deliveries.tsv"
        count = args.deliveries
        write_deliveries(deliveries, count, 1, tag)
        serve = ["serve", "bench.echo_bot:bot", "--port", str(port), "--log-level", "warning"]
        workers: list[subprocess.Popen[bytes]] = []
        if target.startswith("embedded"):
            web = processes.spawn(*serve)
        else:
            web = processes.spawn(*serve, "--web-only")
            wait_up(f"http://127.0.0.1:{port}/healthz", web, limit=60)
            for _ in range(2 if target == "pg-2-workers" else 1):
                workers.append(
                    processes.spawn(
                        "worker", "bench.echo_bot:bot", "--concurrency", str(args.concurrency)
                    )
                )
        wait_up(f"http://127.0.0.1:{port}/healthz", web, limit=60)
        time.sleep(2.0)  # the workers register and open their pools
        reset(send_api)
        handlers = workers or [web]
        cpu_before = {p.pid: cpu_seconds(p.pid) for p in [web, *workers]}
        pg_before = postgres_cpu_seconds()
        started = time.monotonic()
        command = [
            "wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.seconds}s",
            "--timeout", "10s", "-s", str(HERE / "webhook.lua"),
            f"http://127.0.0.1:{port}/webhook", "--", str(deliveries), "2",
        ]  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        load_end = time.monotonic()
        last, last_change = stats(send_api)["requests"], time.monotonic()
        while time.monotonic() - load_end < args.drain_limit:
            time.sleep(0.05)
            now_count = stats(send_api)["requests"]
            if now_count != last:
                last, last_change = now_count, time.monotonic()
            elif time.monotonic() - last_change > 5.0:
                break
        cpu_after = {p.pid: cpu_seconds(p.pid) for p in [web, *workers]}
        # Backends that ended meanwhile take their time along: a lower bound.
        result.postgres_cpu_s = max(0.0, postgres_cpu_seconds() - pg_before) if uses_pg else 0.0
        result.drain_s = max(0.0, last_change - load_end)
        result.web_cpu_s = cpu_after[web.pid] - cpu_before[web.pid]
        result.handler_cpu_s = sum(cpu_after[p.pid] - cpu_before[p.pid] for p in handlers)
        requests, duration_us, errors, sent_per_thread = wrk_totals(output)
        result.requests_per_s = (requests - errors) / (duration_us / 1e6)
        sent = [
            f"{tag}-{thread + i * 2}-0"
            for thread, how_many in enumerate(sent_per_thread)
            for i in range(how_many)
            if thread + i * 2 < count
        ]
        replies: Counter[str] = Counter(stats(send_api)["texts"])
        result.sent_messages = len(sent)
        result.replies = sum(replies.values())
        result.replies_per_s = result.replies / max(1e-9, last_change - started)
        stored = stored_texts_at(database_url)
        unanswered = [text for text in sent if replies.get(text, 0) == 0]
        result.lost = sum(1 for text in unanswered if text in stored)
        result.unacked = len(unanswered) - result.lost
        result.duplicated = sum(max(0, n - 1) for n in replies.values())
        if errors or result.unacked:
            result.notes.append(
                f"{max(errors, result.unacked)} requests not acknowledged (in flight when wrk "
                "stopped, or refused): Facebook would redeliver them"
            )
        return result
    finally:
        processes.stop()
        if os.environ.get("BENCH_KEEP"):
            console.print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
        if uses_pg:
            with psycopg.connect(libpq(pg_url), autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="load per target (10)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--deliveries", type=int, default=100_000, help="messages prepared")
    parser.add_argument("--concurrency", type=int, default=32, help="jobs per worker (32)")
    parser.add_argument("--drain-limit", type=float, default=120.0, help="longest drain, s")
    parser.add_argument("--only", action="append", choices=TARGETS, help="targets")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        console.print("[red]wrk is not installed[/] (apt-get install wrk)")
        return 2
    pg_url = os.environ.get("BOTPERMS_TEST_POSTGRES_URL") or DEFAULT_PG
    send_port = free_port()
    send_api = f"http://127.0.0.1:{send_port}"
    fake = subprocess.Popen(
        [sys.executable, str(HERE / "fake_send_api.py"), "--port", str(send_port)]
    )
    results: list[Result] = []
    try:
        wait_up(f"{send_api}/_stats", fake)
        for target in args.only or TARGETS:
            console.print(f"[bold]{target}[/], {args.seconds} s of load …")
            results.append(run_one(target, args, send_api, pg_url))
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    table = Table(title=f"wrk -c{args.connections}, {args.seconds} s load, then the drain")
    for column in (
        "target", "ack req/s", "replies", "replies/s", "drain s", "web CPU s",
        "handler CPU s", "replies / handler CPU s", "PG CPU s", "lost", "unacked", "dup",
    ):  # fmt: skip
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r.target, f"{r.requests_per_s:,.0f}", f"{r.replies:,}", f"{r.replies_per_s:,.0f}",
            f"{r.drain_s:.1f}", f"{r.web_cpu_s:.1f}", f"{r.handler_cpu_s:.1f}",
            f"{r.replies_per_handler_cpu_s:,.0f}", f"{r.postgres_cpu_s:.1f}", str(r.lost),
            str(r.unacked), str(r.duplicated),
        )  # fmt: skip
    Console(width=200).print(table)
    for r in results:
        for note in r.notes:
            Console().print(f"{r.target}: {note}")
    by = {r.target: r for r in results}
    embedded = by.get("embedded-sqlite")
    for name in ("pg-1-worker", "pg-2-workers"):
        if embedded and name in by and embedded.replies_per_handler_cpu_s:
            ratio = by[name].replies_per_handler_cpu_s / embedded.replies_per_handler_cpu_s
            Console().print(f"{name}: per-worker replies per CPU-second = {ratio:.0%} of embedded")
    return 1 if any(r.lost or r.duplicated for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

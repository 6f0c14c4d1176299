"""Webhook ingest benchmark: signed deliveries in, 200s out, against the real app on loopback.

    make bench                                   # runs: .venv/bin/python bench/webhook_ingest.py
    .venv/bin/python bench/webhook_ingest.py --deliveries 5000 --concurrency 50
    .venv/bin/python bench/webhook_ingest.py --batch 20        # 20 events in every delivery

Starts botperms' Starlette app (``create_app`` with ``Settings`` built here, SQLite in a temporary
directory, ``run_workers=False``) under uvicorn on a free 127.0.0.1 port in a background thread,
then POSTs signed deliveries with httpx and reports throughput, p50/p95/p99 latency of the 200s,
and the peak RSS of this process (server and client together). What it measures is the path
Facebook waits on: body read, signature check, parsing, the durable insert into the inbox, the
acknowledgement. Handling the events is not included (the workers are off).

It is bounded: a fixed number of deliveries and an overall time limit (``--timeout``), loopback
only, and the database is deleted afterwards. It is a benchmark, not a test; it exits 1 when a
delivery was not answered 200 or the inbox does not hold exactly the acknowledged events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.fernet import Fernet
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from botperms.app import create_app
from botperms.bot import Bot
from botperms.config import Settings
from botperms.logs import configure
from botperms.messenger import sign_body
from botperms.store import Database, Store, TokenCipher

APP_SECRET = "bench-app-secret"
PAGE_ID = "222"
PEOPLE = 200  # distinct PSIDs the events come from
STARTUP_LIMIT = 15.0  # seconds for uvicorn to come up (migrations included)


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)  # seconds, 200s only
    failures: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0
    timed_out: bool = False


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000, help="deliveries to POST (2000)")
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight (20)")
    parser.add_argument("--batch", type=int, default=1, help="events per delivery (1)")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured deliveries first (50)")
    parser.add_argument("--timeout", type=float, default=120.0, help="overall limit, s (120)")
    parser.add_argument(
        "--log-level", default="WARNING", help="botperms log level (WARNING; INFO logs every POST)"
    )
    args = parser.parse_args(argv)
    limits = {
        "deliveries": (1, 1_000_000),
        "concurrency": (1, 1000),
        "batch": (1, 1000),
        "warmup": (0, 100_000),
    }
    for name, (low, high) in limits.items():
        value = getattr(args, name)
        if not low <= value <= high:
            parser.error(f"--{name} must be between {low} and {high}")
    if not 0 < args.timeout <= 3600:
        parser.error("--timeout must be between 0 and 3600 seconds")
    return args


def make_settings(database: Path, port: int) -> Settings:
    return Settings(
        app_id="111",
        app_secret=APP_SECRET,
        verify_token="bench-verify",
        page_id=PAGE_ID,
        page_token="EAAbenchpagetoken",
        public_url=f"http://127.0.0.1:{port}",
        # Never called: with the workers off nothing talks to the Graph API.
        graph_url="http://127.0.0.1:9",
        www_url="http://127.0.0.1:9",
        database_url=f"sqlite+aiosqlite:///{database}",
        token_keys=[Fernet.generate_key().decode()],
        _env_file=None,
    )


def delivery(number: int, batch: int) -> bytes:
    """One webhook POST body with `batch` message events, each with a unique mid."""
    events: list[dict[str, Any]] = []
    for index in range(batch):
        serial = number * batch + index
        events.append(
            {
                "sender": {"id": f"psid{serial % PEOPLE}"},
                "recipient": {"id": PAGE_ID},
                "timestamp": 1_700_000_000_000 + serial,
                "message": {"mid": f"m.bench.{number}.{index}", "text": f"hello {serial}"},
            }
        )
    payload = {
        "object": "page",
        "entry": [{"id": PAGE_ID, "time": 1_700_000_000_000 + number, "messaging": events}],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


class Server:
    """uvicorn in a daemon thread, on a socket bound here (so the port cannot be taken between
    choosing and binding it)."""

    def __init__(self, settings: Settings, sock: socket.socket) -> None:
        # The bot is never called: with the workers off, events stay in the inbox.
        app = create_app(settings, Bot(name="bench"), run_workers=False)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_LIMIT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise SystemExit("the server did not start (see the log above)")
            time.sleep(0.01)  # a start-up poll in a script, not in a test

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


async def post_all(
    base_url: str, first: int, count: int, args: argparse.Namespace, progress: Progress | None
) -> Results:
    results = Results()
    numbers = iter(range(first, first + count))
    task = progress.add_task("deliveries", total=count) if progress is not None else None
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )

    async def sender(client: httpx.AsyncClient) -> None:
        for number in numbers:  # shared iterator: each delivery is taken by one sender
            body = delivery(number, args.batch)
            headers = {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign_body(APP_SECRET, body),
            }
            started = time.perf_counter()
            try:
                response = await client.post("/webhook", content=body, headers=headers)
            except httpx.HTTPError as exc:
                results.failures[type(exc).__name__] += 1
            else:
                if response.status_code == 200:
                    results.latencies.append(time.perf_counter() - started)
                else:
                    results.failures[f"HTTP {response.status_code}"] += 1
            if progress is not None and task is not None:
                progress.advance(task)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10.0) as client:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(args.timeout):
                await asyncio.gather(*(sender(client) for _ in range(args.concurrency)))
        except TimeoutError:
            results.timed_out = True
        results.wall = time.perf_counter() - started
    return results


async def stored_events(database_url: str) -> int:
    db = Database(database_url)
    try:
        counts = await Store(db, TokenCipher([Fernet.generate_key().decode()])).inbox_counts()
    finally:
        await db.dispose()
    return sum(counts.values())


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def report(console: Console, args: argparse.Namespace, results: Results, stored: int) -> None:
    latencies = sorted(results.latencies)
    ok = len(latencies)
    done = ok + sum(results.failures.values())
    expected = (args.warmup + ok) * args.batch
    table = Table(title="botperms webhook ingest", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("deliveries (measured)", f"{done} of {args.deliveries}")
    table.add_row("events per delivery", str(args.batch))
    table.add_row("concurrency", str(args.concurrency))
    table.add_row("wall time", f"{results.wall:.2f} s")
    table.add_row("throughput", f"{done / results.wall:,.0f} deliveries/s")
    table.add_row("", f"{done * args.batch / results.wall:,.0f} events/s")
    for label, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
        table.add_row(f"latency {label} (200s)", f"{percentile(latencies, fraction) * 1000:.1f} ms")
    table.add_row(
        "non-200 / errors", ", ".join(f"{k}: {v}" for k, v in results.failures.items()) or "0"
    )
    note = "; cut-off requests may be stored unacknowledged" if results.timed_out else ""
    table.add_row("events in the inbox", f"{stored} (expected {expected}{note})")
    table.add_row("peak RSS (this process)", f"{peak_rss_mib():.1f} MiB")
    if results.timed_out:
        table.add_row("[red]stopped[/]", f"[red]--timeout {args.timeout:g} s reached[/]")
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure(args.log_level)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="botperms-bench-") as tmp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        settings = make_settings(Path(tmp) / "bench.db", port)
        server = Server(settings, sock)
        server.start()
        base_url = f"http://127.0.0.1:{port}"
        try:
            if args.warmup:
                warm = asyncio.run(post_all(base_url, 0, args.warmup, args, None))
                if warm.failures:
                    console.print(f"[red]warm-up failed: {dict(warm.failures)}[/]")
                    return 1
            with Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            ) as progress:
                results = asyncio.run(
                    post_all(base_url, args.warmup, args.deliveries, args, progress)
                )
            stored = asyncio.run(stored_events(settings.database_url))
        finally:
            server.stop()
            sock.close()
    report(console, args, results, stored)
    expected = (args.warmup + len(results.latencies)) * args.batch
    return 0 if not results.failures and not results.timed_out and stored == expected else 1


if __name__ == "__main__":
    sys.exit(main())

"""The event-pipeline benchmark: wrk posts distinct signed deliveries at a bare ASGI app and at
botperms running an echo bot, in one run, against one instant local Send API.

    make bench                                        # all targets, 1- and 10-event deliveries
    .venv/bin/python bench/pipeline.py --seconds 10 --connections 64
    .venv/bin/python bench/pipeline.py --only botperms --batch 1

Targets, each a real server process on a free 127.0.0.1 port:

- ``bare-parse``: a bare uvicorn ASGI app that checks the signature and parses (no send);
- ``bare-send``: the same, and it calls the Send API for each message before answering;
- ``botperms``: ``botperms serve bench.echo_bot:bot`` on SQLite (the embedded default);
- ``botperms-2p``: the same with ``--processes 2`` (the web part and the handlers in two
  processes).

For each: acknowledged req/s, p50/p99 latency (wrk), replies/s while the load runs, drain time
(how long after the load stops until the last reply), peak RSS of the server, and an audit of
every delivery sent: unanswered (split into stored-but-unanswered, a loss, and never
acknowledged, which Facebook would redeliver) and duplicated replies. The run is bounded: each
load lasts ``--seconds``, each drain at most ``--drain-limit``; loopback only; everything it
starts is stopped and its files removed. Needs wrk (Debian's package).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECRET = "bench-app-secret"
PAGE_ID = "222"
PEOPLE = 2000  # distinct PSIDs the messages come from
console = Console(stderr=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, process: subprocess.Popen[bytes], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return  # it answers: up
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up in {limit} s")


def stats(send_api: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{send_api}/_stats", timeout=5) as answer:
        data: dict[str, Any] = json.loads(answer.read())
        return data


def reset(send_api: str) -> None:
    request = urllib.request.Request(f"{send_api}/_reset", method="POST", data=b"")
    urllib.request.urlopen(request, timeout=5).read()


def write_deliveries(path: Path, count: int, batch: int, tag: str) -> list[str]:
    """``count`` deliveries of ``batch`` messages each; returns each delivery's first text."""
    firsts = []
    now = int(time.time() * 1000)
    with path.open("w") as out:
        for n in range(count):
            events = []
            for k in range(batch):
                text = f"{tag}-{n}-{k}"
                events.append(
                    {
                        "sender": {"id": str(10_000 + (n * batch + k) % PEOPLE)},
                        "recipient": {"id": PAGE_ID},
                        "timestamp": now + n,
                        "message": {"mid": f"m.{text}", "text": text},
                    }
                )
            body = json.dumps(
                {"object": "page", "entry": [{"id": PAGE_ID, "time": now, "messaging": events}]},
                separators=(",", ":"),
            )
            digest = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
            out.write(f"sha256={digest}\t{body}\n")
            firsts.append(f"{tag}-{n}")
    return firsts


def peak_rss_mb(pid: int) -> float:
    """VmHWM of the process and its children (uvicorn may fork), in MB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for one in pids:
        status = Path(f"/proc/{one}/status")
        if status.exists():
            match = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
            total += int(match.group(1)) if match else 0
    return total / 1024


@dataclass
class Result:
    target: str
    batch: int
    requests_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    replies_per_s: float = 0.0
    drain_s: float = 0.0
    rss_mb: float = 0.0
    sent_messages: int = 0
    errors: int = 0
    stored_unanswered: int = 0
    never_acknowledged: int = 0
    duplicated: int = 0
    repeated_bodies: int = 0
    notes: list[str] = field(default_factory=list)


def start_target(
    target: str, port: int, send_api: str, folder: Path
) -> tuple[subprocess.Popen[bytes], str, Path | None]:
    env = {**os.environ, "BENCH_APP_SECRET": SECRET, "BENCH_SEND_API_URL": send_api}
    python = sys.executable
    if target.startswith("bare"):
        env["BENCH_BARE_MODE"] = "parse" if target == "bare-parse" else "send"
        command = [
            python, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        process = subprocess.Popen(command, cwd=ROOT, env=env)
        return process, f"http://127.0.0.1:{port}/", None
    database = folder / "botperms.db"
    env.update(botperms_env(port, send_api, f"sqlite+aiosqlite:///{database}"))
    command = [
        python, "-m", "botperms.cli", "serve", "bench.echo_bot:bot", "--port", str(port),
        "--log-level", "warning",
    ]  # fmt: skip
    if target == "botperms-2p":
        command += ["--processes", "2"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    return process, f"http://127.0.0.1:{port}/healthz", database


def botperms_env(port: int, send_api: str, database_url: str) -> dict[str, str]:
    """The settings of a botperms process under test (both benchmarks)."""
    return {
        "BOTPERMS_APP_ID": "1000000000000001",
        "BOTPERMS_APP_SECRET": SECRET,
        "BOTPERMS_VERIFY_TOKEN": "bench",
        "BOTPERMS_PAGE_ID": PAGE_ID,
        "BOTPERMS_PAGE_TOKEN": "EAAbenchpagetoken0000",
        "BOTPERMS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "BOTPERMS_GRAPH_URL": send_api,
        "BOTPERMS_WWW_URL": send_api,
        "BOTPERMS_DATABASE_URL": database_url,
        "BOTPERMS_TOKEN_KEYS": Fernet.generate_key().decode(),
        "BOTPERMS_LOG_LEVEL": "WARNING",
    }


def wrk_totals(output: str) -> tuple[int, int, int, list[int]]:
    """From webhook.lua's report: requests, duration (µs), errors, requests sent per thread."""
    done = re.search(r"^DONE (\d+) (\d+) (\d+)$", output, re.M)
    assert done is not None, output
    requests, duration_us, errors = (int(v) for v in done.groups())
    sent_per_thread = [int(m) for m in re.findall(r"^SENT \d+ (\d+)$", output, re.M)]
    return requests, duration_us, errors, sent_per_thread


def stored_texts(database: Path) -> set[str]:
    """The message texts a SQLite target stored (acknowledged)."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT json_extract(payload, '$.message.text') FROM inbox").fetchall()
    return {row[0] for row in rows if row[0] is not None}


def run_one(target: str, batch: int, args: argparse.Namespace, send_api: str) -> Result:
    result = Result(target, batch)
    folder = Path(tempfile.mkdtemp(prefix="botperms-bench-"))
    try:
        tag = f"{target}-{batch}-{int(time.time())}"
        deliveries = folder / "deliveries.tsv"
        count = args.deliveries // batch
        write_deliveries(deliveries, count, batch, tag)
        port = free_port()
        process, health, database = start_target(target, port, send_api, folder)
        try:
            wait_up(health, process)
            reset(send_api)
            command = [
                "wrk", "-t", str(args.threads), "-c", str(args.connections),
                "-d", f"{args.seconds}s", "--timeout", "10s", "-s", str(HERE / "webhook.lua"),
                f"http://127.0.0.1:{port}/webhook", "--", str(deliveries), str(args.threads),
            ]  # fmt: skip
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            at_end = stats(send_api)["requests"]
            drain_start = time.monotonic()
            last, last_change = at_end, drain_start
            while time.monotonic() - drain_start < args.drain_limit:
                time.sleep(0.02)
                now_count = stats(send_api)["requests"]
                if now_count != last:
                    last, last_change = now_count, time.monotonic()
                elif time.monotonic() - last_change > 1.0:
                    break
            result.drain_s = max(0.0, last_change - drain_start) if last != at_end else 0.0
            if time.monotonic() - drain_start >= args.drain_limit:
                result.notes.append(
                    f"still draining after --drain-limit {args.drain_limit:.0f} s: "
                    "'no reply' counts stored messages not answered yet"
                )
            result.rss_mb = peak_rss_mb(process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        requests, duration_us, errors, sent_per_thread = wrk_totals(output)
        p50, p99, _ = (int(v) for v in re.search(r"^LAT (\d+) (\d+) (\d+)$", output, re.M).groups())  # type: ignore[union-attr]
        seconds = duration_us / 1e6
        result.requests_per_s = (requests - errors) / seconds
        result.p50_ms, result.p99_ms = p50 / 1000, p99 / 1000
        result.replies_per_s = at_end / seconds
        result.errors = errors
        # The audit: every message of every delivery a thread sent.
        per_thread = -(-count // args.threads)
        sent: list[str] = []
        for thread, how_many in enumerate(sent_per_thread):
            result.repeated_bodies += max(0, how_many - per_thread)
            for i in range(min(how_many, per_thread)):
                n = thread + i * args.threads
                if n < count:
                    sent.extend(f"{tag}-{n}-{k}" for k in range(batch))
        result.sent_messages = len(sent)
        replies: Counter[str] = Counter(stats(send_api)["texts"])
        if os.environ.get("BENCH_KEEP"):
            (folder / "replies.json").write_text(json.dumps(replies))
        stored = stored_texts(database) if database is not None else set()
        for text in sent:
            got = replies.get(text, 0)
            if got == 0:
                if text in stored:
                    result.stored_unanswered += 1
                else:
                    result.never_acknowledged += 1
            result.duplicated += max(0, got - 1)
        if result.repeated_bodies:
            result.notes.append(f"{result.repeated_bodies} requests repeated a body")
        return result
    finally:
        if os.environ.get("BENCH_KEEP"):
            console.print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="load per target (10)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument(
        "--deliveries", type=int, default=200_000, help="distinct messages prepared per run"
    )
    parser.add_argument("--drain-limit", type=float, default=60.0, help="longest drain, s (60)")
    parser.add_argument("--batch", type=int, action="append", help="events per delivery (1, 10)")
    parser.add_argument(
        "--only",
        action="append",
        choices=["bare-parse", "bare-send", "botperms", "botperms-2p"],
        help="targets",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        console.print("[red]wrk is not installed[/] (apt-get install wrk)")
        return 2
    batches = args.batch or [1, 10]
    targets = args.only or ["bare-parse", "bare-send", "botperms", "botperms-2p"]
    send_port = free_port()
    send_api = f"http://127.0.0.1:{send_port}"
    fake = subprocess.Popen(
        [sys.executable, str(HERE / "fake_send_api.py"), "--port", str(send_port)]
    )
    results: list[Result] = []
    try:
        wait_up(f"{send_api}/_stats", fake)
        for batch in batches:
            for target in targets:
                console.print(f"[bold]{target}[/], {batch}-event deliveries, {args.seconds} s …")
                results.append(run_one(target, batch, args, send_api))
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    table = Table(title=f"wrk -c{args.connections} -t{args.threads}, {args.seconds} s per target")
    for column in (
        "target", "events", "ack req/s", "p50 ms", "p99 ms", "replies/s", "drain s", "RSS MB",
        "messages", "no reply", "unacked", "dup",
    ):  # fmt: skip
        table.add_column(column, justify="right")
    for r in results:
        # bare-parse sends no replies: "no reply" and "unacked" mean nothing for it.
        audit = (
            ("-", "-")
            if r.target == "bare-parse"
            else (str(r.stored_unanswered), str(r.never_acknowledged))
        )
        table.add_row(
            r.target, str(r.batch), f"{r.requests_per_s:,.0f}", f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}", f"{r.replies_per_s:,.0f}", f"{r.drain_s:.2f}", f"{r.rss_mb:.0f}",
            f"{r.sent_messages:,}", *audit, str(r.duplicated),
        )  # fmt: skip
    Console(width=200).print(table)
    for r in results:
        for note in r.notes:
            Console().print(f"{r.target}, {r.batch}-event: {note}")
    for batch in batches:
        by = {r.target: r for r in results if r.batch == batch}
        for ours in ("botperms", "botperms-2p"):
            if ours in by and "bare-send" in by and by["bare-send"].replies_per_s:
                ratio = by[ours].replies_per_s / by["bare-send"].replies_per_s
                Console().print(f"{batch}-event: {ours}/bare-send replies/s = {ratio:.0%}")
            if ours in by and "bare-parse" in by and by["bare-parse"].requests_per_s:
                ratio = by[ours].requests_per_s / by["bare-parse"].requests_per_s
                Console().print(
                    f"{batch}-event: {ours}/bare-parse acknowledged req/s = {ratio:.0%}"
                )
    if args.json:
        args.json.write_text(json.dumps([vars(r) for r in results], indent=2))
    lost = sum(
        r.stored_unanswered + r.duplicated for r in results if r.target.startswith("botperms")
    )
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())

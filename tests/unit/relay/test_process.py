"""The handler half's process, as a real child: restarted when it dies, stopped with SIGTERM,
and killed by the kernel when its parent dies (even by kill -9)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from botperms.relay import HandlerProcess


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not reaped yet) is not alive either.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"


async def until(check: object, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_a_child_that_dies_is_started_again_and_stop_ends_it(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    script = f"open({str(starts)!r}, 'a').write('x'); import time; time.sleep(60)"
    handlers = HandlerProcess([sys.executable, "-c", script], restart_delay=0.05)
    await handlers.start()
    await until(lambda: starts.exists() and starts.read_text() == "x")
    first = handlers.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    await until(lambda: handlers.pid != first and handlers.running)
    await until(lambda: starts.read_text() == "xx")
    assert handlers.restarts == 1
    second = handlers.pid
    assert second is not None
    await handlers.stop()
    assert not alive(second)
    await asyncio.sleep(0.2)
    assert starts.read_text() == "xx"  # stopped on purpose: not started again


async def test_stop_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ignoring"
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"open({str(ready)!r}, 'w').close(); time.sleep(60)"
    )
    handlers = HandlerProcess([sys.executable, "-c", script], stop_within=0.5)
    await handlers.start()
    await until(ready.exists)  # SIGTERM is ignored from now on: only SIGKILL ends it
    pid = handlers.pid
    assert pid is not None
    started = time.monotonic()
    await handlers.stop()
    assert not alive(pid)
    assert time.monotonic() - started < 5


def test_the_child_dies_with_its_parent(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    child = (
        "import os, sys, time; from botperms.relay import die_with_parent; "
        f"die_with_parent(int(sys.argv[1])); open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
        "time.sleep(60)"
    )
    parent = (
        "import os, subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', {child!r}, str(os.getpid())]); time.sleep(60)"
    )
    process = subprocess.Popen([sys.executable, "-c", parent])
    deadline = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.02)
    pid = int(pid_file.read_text())
    assert alive(pid)
    process.kill()
    process.wait()
    deadline = time.monotonic() + 10
    while alive(pid):
        assert time.monotonic() < deadline, "the child outlived its parent"
        time.sleep(0.02)

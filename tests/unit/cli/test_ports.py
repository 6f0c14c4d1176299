"""The port check binds as uvicorn does, so a restart right after a stop is not refused."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from botperms.cli.ports import check_free, holder_of

TIME_WAIT = "06"


def states_of(port: int) -> set[str]:
    states = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port:
            states.add(fields[3])
    return states


@pytest.fixture
def port_in_time_wait() -> int:
    """A port whose server side closed first, as uvicorn does on shutdown: TIME_WAIT, no
    listener."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()
        client.close()
    deadline = time.monotonic() + 10
    while states_of(port) != {TIME_WAIT}:
        assert time.monotonic() < deadline, f"no TIME_WAIT on {port}: {states_of(port)}"
        time.sleep(0.01)
    return port


def test_time_wait_sockets_do_not_make_a_port_busy(port_in_time_wait: int) -> None:
    # What the old check did (a bind without SO_REUSEADDR) is refused: the case is real.
    with socket.socket() as plain, pytest.raises(OSError, match="in use"):
        plain.bind(("127.0.0.1", port_in_time_wait))
    check_free(port_in_time_wait, "--port")
    assert holder_of(port_in_time_wait) == ""


def test_a_listening_port_is_busy_and_its_holder_named() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RuntimeError) as error:
            check_free(port, "--fakebook-port")
        holder = holder_of(port)
    assert holder.startswith(f" by process {os.getpid()} (python")
    assert str(error.value) == (
        f"port {port} is in use{holder} (stop it, or choose another port with --fakebook-port)"
    )

"""Is a port free, the way uvicorn will bind it, and if not, which process holds it?"""

from __future__ import annotations

import os
import socket
from pathlib import Path

_LISTEN = "0A"  # the TCP state column of /proc/net/tcp: 0A is LISTEN


def check_free(port: int, option: str, host: str = "127.0.0.1") -> None:
    """Raise RuntimeError with a readable reason unless ``host:port`` can be bound.

    uvicorn binds with SO_REUSEADDR, so the previous run's TIME_WAIT sockets do not stop it;
    the probe binds the same way, or a restart right after a stop would be refused for a
    minute.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise RuntimeError(
                f"port {port} is in use{holder_of(port)} (stop it, or choose another port "
                f"with {option})"
            ) from None


def holder_of(port: int) -> str:
    """`` by process 1234 (python -m fakebook serve …)``, or ``""`` where the system cannot tell
    (not Linux, or the process belongs to another user)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return ""
    for pid, command in _processes_holding(inodes):
        return f" by process {pid} ({command})" if command else f" by process {pid}"
    return " by a process of another user"


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local_address is HEXIP:HEXPORT; st is the state; the inode is the 10th column.
            listening = len(fields) > 9 and fields[3] == _LISTEN
            if listening and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _processes_holding(inodes: set[str]) -> list[tuple[int, str]]:
    wanted = {f"socket:[{inode}]" for inode in inodes}
    found: list[tuple[int, str]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:  # another user's process, or it just ended
            continue
        if _links(fds) & wanted:
            found.append((int(entry.name), _command_line(entry)))
    return found


def _links(fds: list[Path]) -> set[str]:
    links = set()
    for fd in fds:
        try:
            links.add(os.readlink(fd))
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
    return links


def _command_line(process: Path) -> str:
    try:
        parts = (process / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    words = [part.decode(errors="replace") for part in parts if part]
    if words:
        words[0] = Path(words[0]).name  # "python", not the interpreter's full path
    text = " ".join(" ".join(words).split())  # one line, however the command was written
    return text if len(text) <= 80 else text[:77] + "…"

"""One embedded process per SQLite database: a second one would run its own workers on the
same rows and send every reply twice, so it is refused at start with one readable line."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy import make_url


class AlreadyRunning(RuntimeError):
    """Another botperms process holds the database."""


class ProcessLock:
    """An exclusive ``flock`` on ``<database>.lock``, held while the process runs. The
    kernel drops it when the process dies, even by ``kill -9``: no stale lock to clean up."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def for_database(cls, url: str) -> ProcessLock:
        database = make_url(url).database
        if not database or database == ":memory:":
            return cls(None)
        return cls(Path(database).expanduser().resolve().with_name(Path(database).name + ".lock"))

    @property
    def fd(self) -> int | None:
        """The open lock file while held: a child process given it holds the lock too."""
        return self._fd

    def acquire(self) -> None:
        if self.path is None:
            return
        # The database's folder may not exist yet (the store makes it when it opens).
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"another botperms process (pid {holder}) already runs workers on "
                f"{self.path.with_suffix('')}; stop it first, or run several processes on "
                "PostgreSQL (see docs/deployment.md)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def check_database_free(url: str) -> None:
    """Raise :class:`AlreadyRunning` now if another process holds ``url``'s lock, so a
    command can say so in one line before it starts serving (the lock itself is taken at
    start-up, by the composition root)."""
    lock = ProcessLock.for_database(url)
    lock.acquire()
    lock.release()

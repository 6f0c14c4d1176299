"""The store's error types, and the one place database driver errors become them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class TicketAlreadyUsed(StoreError):
    """A login attempt for this single-use ticket already exists."""

    def __init__(self) -> None:
        super().__init__("this login link has already been used; ask the bot for a new one")


class AttemptAlreadyConsumed(StoreError):
    """The OAuth state was consumed before (a replayed or doubled callback)."""

    def __init__(self) -> None:
        super().__init__("this login attempt has already been completed")


class TokenDecryptError(StoreError):
    """A ciphertext could not be decrypted with any configured key."""

    def __init__(self) -> None:
        # Deliberately fixed text: neither the ciphertext nor a key may end up in a log line.
        super().__init__(
            "a stored token could not be decrypted with any configured key "
            "(was the key that encrypted it removed from BOTPERMS_TOKEN_KEYS?)"
        )


class StaleCompletion(StoreError):
    """An event to complete is no longer pending: another job already finished it (a job the
    queue engine ran again while its first run was still alive). Nothing was committed."""

    def __init__(self, missing: int) -> None:
        super().__init__(f"{missing} event(s) already completed by another job; nothing kept")


class StorageUnavailable(StoreError):
    """The database cannot be reached or written (disk full, locked, connection refused)."""


def _reason(error: BaseException) -> str:
    # The driver's own message (e.g. "database or disk is full"), not SQLAlchemy's str(), which
    # appends the SQL statement; the first line is enough for a person to act on.
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(original).__name__}: {first}" if first else type(original).__name__


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn "the database is not there / not writable" errors into `StorageUnavailable`.

    Integrity and programming errors pass through: they are bugs or expected conflicts that the
    repositories handle themselves, not an unavailable database.
    """
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.InternalError) as error:
        raise StorageUnavailable(f"the database is unavailable ({_reason(error)})") from error
    except sa_exc.DBAPIError as error:
        if error.connection_invalidated:
            raise StorageUnavailable(f"lost the database connection ({_reason(error)})") from error
        raise
    except (OSError, TimeoutError) as error:
        # asyncpg raises these directly when the server is down or unreachable.
        raise StorageUnavailable(f"cannot connect to the database ({_reason(error)})") from error


class LinkCodeRefused(StoreError):
    """An account-linking authorization_code that confirms nothing.

    `reason` is one of "unknown", "used", "expired", "mismatch" (issued for another person) or
    "revoked" (its grant ended before the link was confirmed).
    """

    REASONS = ("unknown", "used", "expired", "mismatch", "revoked")

    def __init__(self, reason: str) -> None:
        assert reason in self.REASONS, reason
        super().__init__(f"authorization_code refused: {reason}")
        self.reason = reason

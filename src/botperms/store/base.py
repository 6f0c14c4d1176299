"""What every repository shares: the database, the cipher, transactions and small helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store.crypto import TokenCipher
from botperms.store.database import Database
from botperms.store.errors import storage_errors
from botperms.store.models import Base

# Error texts are for people reading a dead letter, not for storing whole tracebacks.
MAX_ERROR_LENGTH = 2000


def utcnow() -> datetime:
    return datetime.now(UTC)


def clip(error: str) -> str:
    return error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 1] + "…"


def aware(value: datetime) -> datetime:
    """Refuse naive datetimes at the door, where the caller can still see which argument."""
    if value.tzinfo is None:
        raise ValueError("the store only takes timezone-aware datetimes")
    return value.astimezone(UTC)


class Repository:
    """Base of the store's parts. Each method runs in its own transaction unless given one."""

    def __init__(self, db: Database, cipher: TokenCipher) -> None:
        self._db = db
        self._cipher = cipher

    @property
    def db(self) -> Database:
        return self._db

    @asynccontextmanager
    async def _tx(self, session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
        if session is not None:
            # The caller owns the transaction (and commits it); errors are still translated.
            with storage_errors():
                yield session
            return
        async with self._db.session() as own:
            yield own

    def _insert(self, table: type[Base]) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that knows ON CONFLICT; both backends spell it the same way."""
        if self._db.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _encrypt_optional(self, plaintext: str | None) -> str | None:
        return None if plaintext is None else self._cipher.encrypt(plaintext)

    def _decrypt_optional(self, ciphertext: str | None) -> str | None:
        return None if ciphertext is None else self._cipher.decrypt(ciphertext)

"""`PageDirectory`: page id → page token for the hot path, with no database read per event.

The known pages are the settings' one page (``BOTPERMS_PAGE_ID`` / ``BOTPERMS_PAGE_TOKEN``, if
set) and the ``pages`` table. The table is read into memory at the first use, again once the
copy is ``refresh_seconds`` old, and on a miss (an unknown page id) at most once every
``miss_seconds``, so a page added with ``botperms pages add`` is answered within seconds by
every running process, while a flood of events for a foreign page cannot turn into a flood of
reads. A removed page is forgotten at the next refresh.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Protocol

import structlog

from botperms.store.errors import StoreError

log = structlog.get_logger(__name__)


class PageSource(Protocol):
    async def page_tokens(self) -> dict[str, str]: ...


class PageDirectory:
    """Resolves a page id to its decrypted token; ``known`` answers from memory only."""

    def __init__(
        self,
        source: PageSource | None,
        *,
        shortcut: Mapping[str, str] | None = None,
        refresh_seconds: float = 30.0,
        miss_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``source``: the store (None: only the ``shortcut`` pages, e.g. in unit tests).
        ``shortcut``: page id → token from the settings; a stored page of the same id wins
        (``pages add`` is how a token is replaced)."""
        self._source = source
        self._shortcut = dict(shortcut or {})
        self._tokens: dict[str, str] = dict(self._shortcut)
        self._refresh_seconds = refresh_seconds
        self._miss_seconds = miss_seconds
        self._clock = clock
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def fixed(cls, tokens: Mapping[str, str]) -> PageDirectory:
        """A directory of these pages only (no store behind it)."""
        return cls(None, shortcut=tokens)

    def known(self, page_id: str | None) -> bool:
        """Whether the page is known now (from memory; call :meth:`token` to look further)."""
        return page_id is not None and page_id in self._tokens

    def cached(self, page_id: str) -> str | None:
        """The page's token from memory only (for callers that cannot wait)."""
        return self._tokens.get(page_id)

    def page_ids(self) -> frozenset[str]:
        return frozenset(self._tokens)

    async def token(self, page_id: str) -> str | None:
        """The page's token, or None for a page the bot does not answer for."""
        if self._source is not None and self._stale(self._refresh_seconds):
            await self._refresh_if(self._refresh_seconds)  # not a coroutine per send
        found = self._tokens.get(page_id)
        if found is None and await self._refresh_if(self._miss_seconds):
            found = self._tokens.get(page_id)
        return found

    async def refresh(self) -> None:
        """Read the table now (``pages add`` in this process calls it)."""
        async with self._lock:
            await self._load()

    async def _refresh_if(self, max_age: float) -> bool:
        """Reload when the copy is older than ``max_age``; True when it did."""
        if self._source is None or not self._stale(max_age):
            return False
        async with self._lock:
            if not self._stale(max_age):
                return True  # another task just loaded it
            await self._load()
        return True

    def _stale(self, max_age: float) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= max_age

    async def _load(self) -> None:
        if self._source is None:
            return
        try:
            stored = await self._source.page_tokens()
        except StoreError as exc:
            # Keep answering with what we had; the next refresh tries again.
            log.warning("pages.refresh_failed", error=str(exc))
            self._loaded_at = self._clock()
            return
        tokens = dict(self._shortcut)
        tokens.update(stored)
        self._tokens = tokens
        self._loaded_at = self._clock()

"""``BoundGraph``: the Graph API client bound to one access token, what a handler gets as
``ctx.user_graph``: plain calls, paging, and the typed reads a permissions bot makes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from botperms.graph.paging import paginate
from botperms.graph.reads import LikedPage, Me, Permissions, likes, me, permissions

if TYPE_CHECKING:
    from botperms.graph.client import GraphClient


class BoundGraph:
    """A client bound to one access token (what a bot handler gets as ``ctx.user_graph``)."""

    def __init__(self, client: GraphClient, access_token: str) -> None:
        self.client = client
        self._access_token = access_token

    def __repr__(self) -> str:
        return f"BoundGraph(graph_base={self.client.graph_base!r}, access_token={'[redacted]'!r})"

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return await self.client.request(
            "GET", path, access_token=self._access_token, params=params
        )

    async def post(
        self, path: str, json: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        return await self.client.request(
            "POST", path, access_token=self._access_token, params=params, json=json
        )

    async def delete(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return await self.client.request(
            "DELETE", path, access_token=self._access_token, params=params
        )

    def paginate(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        limit: int = 100,
        page_size: int | None = None,
        max_pages: int = 20,
    ) -> AsyncIterator[dict[str, Any]]:
        """Iterate over the items of a paged list (``data``), following its pages.

        ``async for page in ctx.user_graph.paginate("/me/likes", limit=10): ...`` yields at
        most ``limit`` items from at most ``max_pages`` requests, asking for ``page_size``
        items a page (default: ``limit``, at most 100). A next page linked on another host is
        fetched from its cursor against the configured Graph API, so the token stays there; a
        cursor that repeats ends the walk. Errors are those of `get`, plus `PagingError`.
        """
        return paginate(
            self.client,
            path,
            access_token=self._access_token,
            params=params,
            limit=limit,
            page_size=page_size,
            max_pages=max_pages,
        )

    async def me(self) -> Me:
        """The person this token belongs to: ASID, names and (if granted) email."""
        return await me(self)

    async def likes(self, limit: int = 10, *, page_size: int | None = None) -> list[LikedPage]:
        """Up to ``limit`` Pages the person likes, across pages. Needs ``user_likes``."""
        return await likes(self, limit=limit, page_size=page_size)

    async def permissions(self) -> Permissions:
        """What the person granted and declined to this app."""
        return await permissions(self)

"""The reads a permissions bot makes with a person's token, as small frozen records.

``ctx.user_graph.me()``, ``ctx.user_graph.likes(limit=10)`` and
``ctx.user_graph.permissions()`` call the functions here. Each record keeps only what the
Graph API answered: a field Facebook leaves out (no permission, not set) is ``None`` rather than
an error, and rows that are not objects with an id are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botperms.graph.bound import BoundGraph

ME_FIELDS = "id,name,first_name,last_name,email"
LIKES_FIELDS = "name,created_time"


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Me:
    """The person a user token belongs to (``GET /me``).

    ``id`` is their app-scoped user id (ASID), not the PSID the bot chats with. ``email`` is
    set only when they granted the ``email`` permission and have an address on file.
    """

    id: str
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class LikedPage:
    """A Facebook Page the person likes (one row of ``GET /me/likes``)."""

    id: str
    name: str
    created_time: str | None = None
    """When they liked it, as Facebook writes it (``2019-01-01T00:00:00+0000``)."""


@dataclass(frozen=True)
class Permissions:
    """What the person granted and declined (``GET /me/permissions``)."""

    granted: tuple[str, ...]
    declined: tuple[str, ...]
    other: tuple[tuple[str, str], ...] = ()
    """``(permission, status)`` pairs of any other status, such as ``("email", "expired")``."""

    def has(self, *permissions: str) -> bool:
        """Whether every one of ``permissions`` is granted."""
        return all(p in self.granted for p in permissions)


def parse_me(data: Any) -> Me:
    row = data if isinstance(data, dict) else {}
    return Me(
        id=str(row.get("id") or ""),
        name=_str_or_none(row.get("name")),
        first_name=_str_or_none(row.get("first_name")),
        last_name=_str_or_none(row.get("last_name")),
        email=_str_or_none(row.get("email")),
    )


def parse_liked_page(row: Any) -> LikedPage | None:
    if not isinstance(row, dict) or row.get("id") is None:
        return None
    return LikedPage(
        id=str(row["id"]),
        name=str(row.get("name") or ""),
        created_time=_str_or_none(row.get("created_time")),
    )


def parse_permissions(data: Any) -> Permissions:
    rows = data.get("data") if isinstance(data, dict) else None
    granted: list[str] = []
    declined: list[str] = []
    other: list[tuple[str, str]] = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or not isinstance(row.get("permission"), str):
            continue
        name, status = row["permission"], str(row.get("status", ""))
        if status == "granted":
            granted.append(name)
        elif status == "declined":
            declined.append(name)
        else:
            other.append((name, status))
    return Permissions(tuple(granted), tuple(declined), tuple(other))


async def me(graph: BoundGraph) -> Me:
    return parse_me(await graph.get("/me", params={"fields": ME_FIELDS}))


async def likes(
    graph: BoundGraph, *, limit: int = 10, page_size: int | None = None, max_pages: int = 20
) -> list[LikedPage]:
    """Up to ``limit`` liked Pages, newest first, however many pages the server splits them in.

    Needs ``user_likes``. ``page_size`` and ``max_pages`` are passed to ``paginate``.
    """
    rows = graph.paginate(
        "/me/likes",
        params={"fields": LIKES_FIELDS},
        limit=limit,
        page_size=page_size,
        max_pages=max_pages,
    )
    return [page async for row in rows if (page := parse_liked_page(row)) is not None]


async def permissions(graph: BoundGraph) -> Permissions:
    return parse_permissions(await graph.get("/me/permissions"))

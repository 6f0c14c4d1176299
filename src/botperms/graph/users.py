"""Reading people: a PSID's Messenger profile, and a user token's liked Pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from botperms.graph.client import GraphClient

PROFILE_FIELDS = "first_name,last_name,name,profile_pic"
LIKES_FIELDS = "name,created_time"


@dataclass(frozen=True)
class Profile:
    id: str
    first_name: str | None
    last_name: str | None
    name: str | None
    profile_pic: str | None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


async def get_profile(graph: GraphClient, page_token: str, psid: str) -> Profile:
    """The User Profile API. Fields the page may not see come back as ``None``."""
    if not psid or "/" in psid:
        raise ValueError("psid must be a non-empty id without '/'")
    data = await graph.request(
        "GET",
        f"/{quote(psid, safe='')}",
        access_token=page_token,
        params={"fields": PROFILE_FIELDS},
    )
    # Older API versions answered `{}` when profile access was not granted.
    data = data if isinstance(data, dict) else {}
    return Profile(
        id=_str_or_none(data.get("id")) or psid,
        first_name=_str_or_none(data.get("first_name")),
        last_name=_str_or_none(data.get("last_name")),
        name=_str_or_none(data.get("name")),
        profile_pic=_str_or_none(data.get("profile_pic")),
    )


@dataclass(frozen=True)
class LikedPage:
    id: str
    name: str
    created_time: str | None


def _liked_pages(rows: Any) -> list[LikedPage]:
    pages: list[LikedPage] = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or row.get("id") is None:
            continue
        pages.append(
            LikedPage(
                id=str(row["id"]),
                name=str(row.get("name") or ""),
                created_time=_str_or_none(row.get("created_time")),
            )
        )
    return pages


def _next_request(
    data: dict[str, Any], params: dict[str, str]
) -> tuple[str, dict[str, str]] | None:
    paging = data.get("paging")
    if not isinstance(paging, dict):
        return None
    next_url = paging.get("next")
    if isinstance(next_url, str) and next_url:
        # The `next` link already carries fields/limit/after; the client replaces its token.
        return next_url, {}
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    if isinstance(after, str) and after:
        return "/me/likes", {**params, "after": after}
    return None


async def get_likes(
    graph: GraphClient, user_token: str, *, limit: int = 10, page_size: int = 25
) -> list[LikedPage]:
    """Up to ``limit`` Pages the user likes (needs ``user_likes``), following pagination."""
    if limit <= 0:
        return []
    params = {"fields": LIKES_FIELDS, "limit": str(page_size)}
    path, query = "/me/likes", params
    collected: list[LikedPage] = []
    seen: set[tuple[str, str]] = set()
    while len(collected) < limit:
        data = await graph.request("GET", path, access_token=user_token, params=query or None)
        if not isinstance(data, dict):
            break
        batch = _liked_pages(data.get("data"))
        collected.extend(batch)
        following = _next_request(data, params)
        if not batch or following is None:
            break
        # A cursor that repeats would loop forever; stop instead of trusting the server.
        marker = (following[0], following[1].get("after", ""))
        if marker in seen:
            break
        seen.add(marker)
        path, query = following
    return collected[:limit]

"""Reading people: a PSID's user profile (their name, through the page), and a user token's
liked Pages. Not the Messenger Profile, which is the page's own settings (``graph.profile``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from botperms.graph.client import GraphClient
from botperms.graph.reads import LikedPage, likes

PROFILE_FIELDS = "first_name,last_name,name,profile_pic"


@dataclass(frozen=True)
class UserProfile:
    """A person's user profile as the page sees it (the User Profile API); any field may be
    None when Facebook does not share it."""

    id: str
    first_name: str | None
    last_name: str | None
    name: str | None
    profile_pic: str | None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


async def get_user_profile(graph: GraphClient, page_token: str, psid: str) -> UserProfile:
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
    return UserProfile(
        id=_str_or_none(data.get("id")) or psid,
        first_name=_str_or_none(data.get("first_name")),
        last_name=_str_or_none(data.get("last_name")),
        name=_str_or_none(data.get("name")),
        profile_pic=_str_or_none(data.get("profile_pic")),
    )


async def get_likes(
    graph: GraphClient, user_token: str, *, limit: int = 10, page_size: int = 25
) -> list[LikedPage]:
    """Up to ``limit`` Pages the user likes (needs ``user_likes``), following pagination."""
    if limit <= 0:
        return []
    return await likes(graph.for_token(user_token), limit=limit, page_size=page_size)

"""A person's user profile (their name, as the page sees it), cached in the store.

Not the Messenger Profile: that is the page's own settings (Get Started, menu, greeting), see
``botperms.messenger.profile``."""

from __future__ import annotations

import structlog

from botperms.bot.runtime import Runtime
from botperms.graph import GraphError, UserProfile, get_user_profile

log = structlog.get_logger(__name__)


async def read_user_profile(runtime: Runtime, page_id: str, psid: str) -> UserProfile | None:
    """The cached profile if fresh (``Runtime.profile_ttl``), else the User Profile API's;
    None when Facebook won't share it."""
    store = runtime.store
    cached = await store.cached_profile(page_id, psid, max_age=runtime.profile_ttl)
    if cached is not None:
        return UserProfile(
            id=psid,
            first_name=cached.get("first_name"),
            last_name=cached.get("last_name"),
            name=cached.get("name"),
            profile_pic=cached.get("profile_pic"),
        )
    try:
        token = await runtime.token_for(page_id)
        profile = await get_user_profile(runtime.graph, token, psid)
    except GraphError as exc:
        log.info("user_profile.unavailable", psid=psid, error=exc.code)
        return None
    # Caching is not an effect of the event: it may be written even if the handler fails.
    await store.cache_profile(
        page_id,
        psid,
        {
            "first_name": profile.first_name,
            "last_name": profile.last_name,
            "name": profile.name,
            "profile_pic": profile.profile_pic,
        },
    )
    return profile


def display_name(profile: UserProfile | None) -> str | None:
    """``Alice B.`` for the login page's "this login is for …" line, or the full name."""
    if profile is None:
        return None
    if profile.first_name:
        last = f" {profile.last_name[0]}." if profile.last_name else ""
        return f"{profile.first_name}{last}"
    return profile.name

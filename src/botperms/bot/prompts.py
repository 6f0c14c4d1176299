"""What the framework itself says to people, so a bot author can reword (or translate) it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# How a permission reads in a sentence ("You didn't share your likes"); unknown ones are shown
# by name. Facebook's own dialog uses similar wording.
PERMISSION_NAMES: dict[str, str] = {
    "public_profile": "your public profile",
    "email": "your email address",
    "user_likes": "your likes",
    "user_posts": "your posts",
    "user_photos": "your photos",
    "user_friends": "your friend list",
    "user_birthday": "your birthday",
    "user_location": "your current city",
    "user_hometown": "your hometown",
    "user_gender": "your gender",
    "user_link": "your profile link",
    "user_age_range": "your age range",
    "user_videos": "your videos",
}


def describe_permissions(scopes: Sequence[str]) -> str:
    """``("user_likes", "email")`` → ``"your likes and your email address"``."""
    names = [PERMISSION_NAMES.get(scope, scope) for scope in scopes]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class Prompts:
    """The framework's own messages. Pass your own to ``Bot(prompts=Prompts(...))``.

    ``login``: the login prompt of a ``@requires`` handler without a ``prompt`` of its own.
    ``declined``: the re-ask after a declined scope; it may use ``{permissions}`` (e.g. "your
    likes"). ``gave_up``: sent when ``Bot.max_reasks`` re-asks were declined too. ``expired``:
    the prompt when Facebook no longer accepts the person's token. ``unlinked``: the goodbye
    when Messenger reports the account unlinked. ``rerequest_button``: the re-ask button's
    title (Messenger allows 20 characters). The default ``gave_up`` and ``unlinked`` texts
    tell people to say "log in": give your bot a route for it (the example bot has one), or
    change the texts.
    """

    login: str = "To do that I need your permission on Facebook."
    declined: str = (
        "You didn't share {permissions}, so I can't do that yet. "
        "Tap below if you'd like to share after all."
    )
    gave_up: str = (
        "OK, I won't ask again and I've put that request aside. "
        'Whenever you change your mind, say "log in".'
    )
    expired: str = "Your Facebook login has expired. Log in again and I'll carry on."
    unlinked: str = (
        "Your Facebook account is no longer linked, so I've forgotten your login. "
        'Say "log in" if you want to link it again.'
    )
    rerequest_button: str = "Share and continue"

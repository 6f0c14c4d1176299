"""``Runtime``: the collaborators a bot runs with. Internal: the composition root builds it, the
dispatcher hands it to each ``Context``, and a handler never sees it (it holds the store and the
page token)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from botperms.graph import GraphClient
from botperms.store import Store


class LoginLinks(Protocol):
    """Makes the URL a person's "Log in" button opens (the flows layer provides it)."""

    def __call__(
        self,
        page_id: str,
        psid: str,
        scopes: tuple[str, ...] | None = None,
        *,
        auth_type: str | None = None,
        display_name: str | None = None,
    ) -> str: ...


@dataclass(frozen=True)
class Runtime:
    """The collaborators a bot runs with; the composition root builds one at start-up.

    ``login_flow`` is ``"web"`` (a web_url login button) or ``"account_link"`` (Messenger's
    account_link button to ``link_url``, plus a web_url button for desktop Messenger).
    ``profile_ttl``: how long a person's cached user profile is used before asking again.
    ``pages``: the pages this bot answers for (empty: any); events of other pages are kept
    in the inbox but not handled, since there is no token to answer them with.
    """

    graph: GraphClient
    store: Store
    page_token: str
    default_scopes: tuple[str, ...]
    login_links: LoginLinks
    login_flow: str = "web"
    link_url: str = ""
    profile_ttl: timedelta = timedelta(hours=24)
    pages: frozenset[str] = frozenset()

"""``Runtime``: the collaborators a bot runs with. Internal: the composition root builds it, the
dispatcher hands it to each ``Context``, and a handler never sees it (it holds the store and the
page token)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from botperms.graph import GraphClient
from botperms.store import PageDirectory, Store


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
    ``directory``: the pages and their tokens (the settings' page and ``botperms pages``);
    when set, it decides which pages are answered, and each event's Graph calls use its
    page's token (``page_token`` is the settings' one, for a page the directory lacks).
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
    directory: PageDirectory | None = None

    async def answers(self, page_id: str) -> bool:
        """Whether the bot answers events of ``page_id`` (a page it has a token for)."""
        if self.directory is not None:
            return await self.directory.token(page_id) is not None
        return not self.pages or page_id in self.pages

    async def token_for(self, page_id: str) -> str:
        """The token of ``page_id`` (a page the directory lacks: the settings' token)."""
        if self.directory is None:
            return self.page_token
        return await self.directory.token(page_id) or self.page_token

    def link_page(self, page_id: str) -> str | None:
        """The page an account-linking URL must name: None for the settings' page (the
        linking URL's default), the page id for one added with ``botperms pages``."""
        if self.directory is None or page_id in self.pages:
            return None
        return page_id

    def cached_token_for(self, page_id: str) -> str:
        """:meth:`token_for` from memory only (the dispatcher has looked the page up)."""
        if self.directory is None:
            return self.page_token
        return self.directory.cached(page_id) or self.page_token

"""What a handler gets: the event, the person, and everything it may do for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from botperms.graph import BoundGraph, GraphClient, GraphError, Profile, get_profile
from botperms.graph import revoke_permissions as graph_revoke_permissions
from botperms.messenger import (
    MessagingEvent,
    button_template,
    quick_reply,
    text_message,
    web_url_button,
)
from botperms.store import GrantRecord, Store

log = structlog.get_logger(__name__)

LOGIN_BUTTON_TITLE = "Log in with Facebook"  # 20 characters: Messenger's button title limit


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


@dataclass
class Runtime:
    """The collaborators a bot runs with; the web layer builds one at start-up."""

    graph: GraphClient
    store: Store
    page_token: str
    default_scopes: tuple[str, ...]
    login_links: LoginLinks
    wake_outbox: Callable[[], None]
    wake_inbox: Callable[[], None] = lambda: None


class NotGranted(Exception):
    """``ctx.user_graph`` was used before the person logged in."""


class Context:
    def __init__(
        self,
        runtime: Runtime,
        page_id: str,
        psid: str,
        event: MessagingEvent | None,
        grant: GrantRecord | None,
    ) -> None:
        self.runtime = runtime
        self.page_id = page_id
        self.psid = psid
        self.event = event
        self.grant = grant
        self._profile: Profile | None = None

    @property
    def text(self) -> str | None:
        message = self.event.message if self.event else None
        return message.text if message else None

    # -- sending --------------------------------------------------------------------------
    async def reply(
        self,
        text: str | None = None,
        *,
        message: dict[str, Any] | None = None,
        quick_replies: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Queue a message to this person (durably: it survives a restart)."""
        if message is None:
            if text is None:
                raise ValueError("reply() needs text or message")
            replies = [quick_reply(title, payload) for title, payload in quick_replies]
            message = text_message(text, quick_replies=replies or None)
        await self.runtime.store.outbox_add(self.page_id, self.psid, message)
        self.runtime.wake_outbox()

    async def send_login_prompt(
        self,
        text: str = "To do that I need your permission on Facebook.",
        *,
        scopes: Sequence[str] | None = None,
        auth_type: str | None = None,
        button_title: str = LOGIN_BUTTON_TITLE,
    ) -> None:
        """A button template whose web_url button starts Facebook Login for this person."""
        wanted = tuple(scopes) if scopes else self.runtime.default_scopes
        name = await self._display_name()
        url = self.runtime.login_links(
            self.page_id, self.psid, wanted, auth_type=auth_type, display_name=name
        )
        button = web_url_button(button_title, url, height="full")
        await self.reply(message=button_template(text, [button]))

    # -- the person -----------------------------------------------------------------------
    async def profile(self) -> Profile | None:
        """The person's Messenger profile; ``None`` when Facebook won't share it."""
        if self._profile is None:
            try:
                self._profile = await get_profile(
                    self.runtime.graph, self.runtime.page_token, self.psid
                )
            except GraphError as exc:
                log.info("profile.unavailable", psid=self.psid, error=exc.code)
                return None
        return self._profile

    async def _display_name(self) -> str | None:
        profile = await self.profile()
        if profile is None:
            return None
        if profile.first_name:
            last = f" {profile.last_name[0]}." if profile.last_name else ""
            return f"{profile.first_name}{last}"
        return profile.name

    def has_scopes(self, *scopes: str) -> bool:
        return self.grant is not None and self.grant.has_scopes(*scopes)

    @property
    def user_token(self) -> str:
        """This person's user access token (never log it)."""
        if self.grant is None:
            raise NotGranted(f"{self.psid} has not logged in")
        return self.grant.access_token

    @property
    def user_graph(self) -> BoundGraph:
        """A Graph client bound to this person's token (every call carries appsecret_proof)."""
        return self.runtime.graph.for_token(self.user_token)

    async def revoke(self, *, on_facebook: bool = True, reason: str = "logout") -> bool:
        """Forget this person's token; with ``on_facebook`` also remove the app's permissions."""
        revoked = await self.runtime.store.revoke_grant(self.page_id, self.psid, reason=reason)
        if revoked is None:
            return False
        self.grant = None
        if on_facebook:
            try:
                await graph_revoke_permissions(self.runtime.graph, revoked.access_token)
            except GraphError as exc:
                # Our copy is gone either way; a token Facebook already dropped is fine.
                log.info("revoke.facebook_failed", psid=self.psid, error=exc.code)
        return True


Handler = Callable[[Context], Awaitable[None]]

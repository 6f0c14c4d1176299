"""What a handler gets: the event, the person, and everything it may do for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog

from botperms.graph import (
    BoundGraph,
    GraphClient,
    GraphError,
    Profile,
    get_profile,
    unlink_account,
)
from botperms.graph import revoke_permissions as graph_revoke_permissions
from botperms.messenger import (
    MessagingEvent,
    account_link_button,
    button_template,
    generic_template,
    quick_reply,
    sender_action,
    text_message,
    web_url_button,
    with_quick_replies,
)
from botperms.store import Effect, GrantRecord, Leave, PendingIntentRecord, Send, Store

log = structlog.get_logger(__name__)

LOGIN_BUTTON_TITLE = "Log in with Facebook"  # 20 characters: Messenger's button title limit
# Account linking works only in the Messenger phone apps (contract §3); people on messenger.com
# or facebook.com need this second, ordinary login button.
BROWSER_BUTTON_TITLE = "Log in on a computer"
LOGIN_PROMPT = "To do that I need your permission on Facebook."

QuickReply = tuple[str, str] | dict[str, Any]


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


class NotGranted(Exception):
    """``ctx.user_graph`` or ``ctx.user_token`` was used for a person who is not logged in
    (see ``@requires``)."""


def _quick_replies(replies: Sequence[QuickReply]) -> list[dict[str, Any]]:
    return [reply if isinstance(reply, dict) else quick_reply(*reply) for reply in replies]


class Context:
    """One event of one person, and what a handler can do about it.

    ``page_id`` and ``psid`` name the conversation, ``event`` is the webhook event (in login
    handlers: None after a web login, the ``linked`` event after account linking), ``grant``
    the person's active grant (None when not logged in).

    What a handler causes (replies, the typing indicator, logging out) is collected here and
    committed together with the event once the handler returns: a handler that raises sends
    nothing, and its retry starts clean.
    """

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
        #: In login handlers: the request waiting for this login. The framework replays it (or
        #: re-asks for a declined scope), so a handler may want to stay quiet about it.
        self.pending_intent: PendingIntentRecord | None = None
        #: True when this event is a replay of one that waited for the person to log in.
        self.replayed = False
        self._profile: Profile | None = None
        self.effects: list[Effect] = []

    def stage(self, effect: Effect) -> None:
        """Add an effect to commit with this event (the framework's own bookkeeping)."""
        self.effects.append(effect)

    @property
    def text(self) -> str | None:
        """The message's text, if the event is a message with text."""
        message = self.event.message if self.event else None
        return message.text if message else None

    @property
    def login_flow(self) -> str:
        """How this bot asks for permissions: ``"web"`` or ``"account_link"``."""
        return self.runtime.login_flow

    # -- sending --------------------------------------------------------------------------
    async def reply(
        self,
        text: str | None = None,
        *,
        buttons: Sequence[dict[str, Any]] = (),
        quick_replies: Sequence[QuickReply] = (),
        elements: Sequence[dict[str, Any]] = (),
        message: dict[str, Any] | None = None,
    ) -> None:
        """Queue a message to this person. It is sent once the handler has returned and the
        event is committed (durably: it survives a restart, and goes out in order).

        - ``reply("Hi")``: a text;
        - ``reply("Pick one", buttons=[postback_button(...), ...])``: a button template;
        - ``reply(elements=[generic_element(...), ...])``: a generic template (cards);
        - ``reply(message={...})``: a ready Send API message body.

        ``quick_replies`` (``(title, payload)`` pairs or :func:`~botperms.messenger.quick_reply`
        dicts) can go with any of them. Messenger's limits are checked here, and a broken rule
        raises :class:`~botperms.messenger.InvalidMessage` naming the field.
        """
        replies = _quick_replies(quick_replies) or None
        if message is not None:
            if text is not None or buttons or elements:
                raise ValueError("reply(message=...) takes no text, buttons or elements")
            body = with_quick_replies(message, replies)
        elif elements:
            if text is not None or buttons:
                raise ValueError("a generic template has no text or buttons of its own")
            body = generic_template(elements, replies)
        elif text is None:
            raise ValueError("reply() needs text or message (or elements)")
        elif buttons:
            body = button_template(text, buttons, replies)
        else:
            body = text_message(text, quick_replies=replies)
        self._send(body)

    def _send(self, body: dict[str, Any]) -> None:
        self.effects.append(Send(self.page_id, self.psid, body))

    async def typing(self) -> None:
        """Show the typing indicator until the next message arrives (Messenger hides it then,
        or after about 20 seconds). Queued like a message, so it shows up in order."""
        self._send(sender_action("typing_on"))

    async def send_login_prompt(
        self,
        text: str = LOGIN_PROMPT,
        *,
        scopes: Sequence[str] | None = None,
        auth_type: str | None = None,
        button_title: str = LOGIN_BUTTON_TITLE,
        browser_button_title: str = BROWSER_BUTTON_TITLE,
    ) -> None:
        """Ask the person to log in with Facebook for ``scopes`` (the default scopes if None).

        In the web flow: a button template whose web_url button starts Facebook Login. In the
        account_link flow, for a person not linked yet: Messenger's account_link button (phone
        apps) and a web_url button titled ``browser_button_title`` (messenger.com,
        facebook.com). A person who is already logged in, or a re-ask (``auth_type=
        "rerequest"``), always gets the web_url button.
        """
        wanted = tuple(scopes) if scopes else self.runtime.default_scopes
        name = await self._display_name()
        url = self.runtime.login_links(
            self.page_id, self.psid, wanted, auth_type=auth_type, display_name=name
        )
        if self.login_flow == "account_link" and self.grant is None and auth_type is None:
            buttons = [
                account_link_button(self._link_url(wanted)),
                web_url_button(browser_button_title, url, height="full"),
            ]
        else:
            buttons = [web_url_button(button_title, url, height="full")]
        await self.reply(message=button_template(text, buttons))

    def _link_url(self, scopes: tuple[str, ...]) -> str:
        if not self.runtime.link_url:
            raise ValueError("Runtime.link_url must be set for the account_link flow")
        parts = urlsplit(self.runtime.link_url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        query.append(("scope", ",".join(scopes)))
        return urlunsplit(parts._replace(query=urlencode(query)))

    # -- the person -----------------------------------------------------------------------
    async def profile(self) -> Profile | None:
        """The person's user profile (name, first_name, …); ``None`` when Facebook won't
        share it. Cached in the store for ``Runtime.profile_ttl``, so most events make no
        Graph call for it."""
        if self._profile is not None:
            return self._profile
        store = self.runtime.store
        cached = await store.cached_profile(
            self.page_id, self.psid, max_age=self.runtime.profile_ttl
        )
        if cached is not None:
            self._profile = Profile(
                id=self.psid,
                first_name=cached.get("first_name"),
                last_name=cached.get("last_name"),
                name=cached.get("name"),
                profile_pic=cached.get("profile_pic"),
            )
            return self._profile
        try:
            self._profile = await get_profile(
                self.runtime.graph, self.runtime.page_token, self.psid
            )
        except GraphError as exc:
            log.info("profile.unavailable", psid=self.psid, error=exc.code)
            return None
        # Caching is not an effect of the event: it may be written even if the handler fails.
        await store.cache_profile(
            self.page_id,
            self.psid,
            {
                "first_name": self._profile.first_name,
                "last_name": self._profile.last_name,
                "name": self._profile.name,
                "profile_pic": self._profile.profile_pic,
            },
        )
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
        """True when the person is logged in and granted every one of ``scopes``."""
        return self.grant is not None and self.grant.has_scopes(*scopes)

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes the person granted (empty when not logged in)."""
        return self.grant.scopes_granted if self.grant is not None else ()

    @property
    def user_token(self) -> str:
        """This person's user access token (never log it); raises :class:`NotGranted`."""
        if self.grant is None:
            raise NotGranted(f"{self.psid} has not logged in")
        return self.grant.access_token

    @property
    def user_graph(self) -> BoundGraph:
        """A Graph client bound to this person's token (every call carries appsecret_proof);
        raises :class:`NotGranted` when the person is not logged in."""
        return self.runtime.graph.for_token(self.user_token)

    # -- leaving --------------------------------------------------------------------------
    async def revoke(self, *, on_facebook: bool = True, reason: str = "logout") -> bool:
        """Log the person out: forget their token, end logins still in progress and drop a
        waiting request. With ``on_facebook`` also remove the app's permissions on Facebook
        (``DELETE /me/permissions``; a failure there is logged, not raised). ``reason`` is
        recorded with the ended grant. Returns whether they were logged in.

        Our copy is forgotten when the event commits; the call to Facebook happens at once."""
        revoked = self.grant
        self.effects.append(Leave(self.page_id, self.psid, reason))
        self.grant = None
        self.pending_intent = None
        if revoked is None:
            return False
        if on_facebook:
            try:
                await graph_revoke_permissions(self.runtime.graph, revoked.access_token)
            except GraphError as exc:
                # Our copy is gone either way; a token Facebook already dropped is fine.
                log.info("revoke.facebook_failed", psid=self.psid, error=exc.code)
        return True

    async def unlink(self, *, on_facebook: bool = True, reason: str = "logout") -> bool:
        """Log out in the account_link flow: :meth:`revoke`, then unlink the account on
        Messenger's side (``POST /me/unlink_accounts``). Messenger answers with an ``unlinked``
        webhook, which then finds no grant and says no second goodbye. Returns whether the
        person was logged in."""
        was_logged_in = await self.revoke(on_facebook=on_facebook, reason=reason)
        try:
            await unlink_account(self.runtime.graph, self.runtime.page_token, self.psid)
        except GraphError as exc:
            # Not linked on Messenger's side (e.g. logged in through the web button): our
            # grant is gone, which is what the person asked for.
            log.info("unlink.facebook_failed", psid=self.psid, error=exc.code)
        return was_logged_in


Handler = Callable[[Context], Awaitable[None]]

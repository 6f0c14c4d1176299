"""What a handler gets: the event, the person, and everything it may do for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from botperms.bot.handover import Handover
from botperms.bot.leaving import remove_permissions, unlink_on_messenger
from botperms.bot.people import display_name, read_user_profile
from botperms.bot.replies import (
    BROWSER_BUTTON_TITLE,
    LOGIN_BUTTON_TITLE,
    LOGIN_PROMPT,
    QuickReply,
    link_url_for,
    login_buttons,
    reply_body,
)
from botperms.bot.runtime import Runtime
from botperms.graph import BoundGraph, UserProfile
from botperms.messenger import MessagingEvent, button_template, sender_action
from botperms.store import Effect, GrantRecord, Leave, PendingIntentRecord, Send
from botperms.store.effects import CountFunnel
from botperms.store.funnel import UNKNOWN_CLIENT, FunnelStep

ACCOUNT_LINK = "account_link"


class NotGranted(Exception):
    """``ctx.user_graph`` or ``ctx.user_token`` was used for a person who is not logged in
    (see ``@requires``)."""


class Context(Handover):
    """One event of one person, and what a handler can do about it.

    ``page_id`` and ``psid`` name the conversation, ``event`` is the webhook event (in login
    handlers: None after a web login, the ``linked`` event after account linking), ``grant``
    the person's active grant (None when not logged in). Page-level events without a person
    (``policy_enforcement``, ``app_roles``, for ``@bot.on_event``) have an empty ``psid``, and
    replying to them raises ``ValueError``.

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
        # The store and the page token live in here: internal, never a handler's business.
        self._runtime = runtime
        self.page_id = page_id
        self.psid = psid
        self.event = event
        self.grant = grant
        #: In login handlers: the request waiting for this login. The framework replays it (or
        #: re-asks for a declined scope), so a handler may want to stay quiet about it.
        self.pending_intent: PendingIntentRecord | None = None
        #: True when this event is a replay of one that waited for the person to log in.
        self.replayed = False
        self._user_profile: UserProfile | None = None
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
        return self._runtime.login_flow

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

        ``quick_replies`` (``(title, payload)`` pairs or :func:`~botperms.quick_reply` dicts)
        can go with any of them. Messenger's limits are checked here, and a broken rule raises
        :class:`~botperms.InvalidMessage` naming the field.
        """
        body = reply_body(
            text, buttons=buttons, quick_replies=quick_replies, elements=elements, message=message
        )
        self._send(body)

    def _send(self, body: dict[str, Any]) -> None:
        if not self.psid:
            kind = self.event.kind if self.event else "this"
            raise ValueError(f"a {kind} event has no person to reply to")
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
        wanted = tuple(scopes) if scopes else self._runtime.default_scopes
        name = display_name(await self.user_profile())
        url = self._runtime.login_links(
            self.page_id, self.psid, wanted, auth_type=auth_type, display_name=name
        )
        linking = self.login_flow == ACCOUNT_LINK and self.grant is None and auth_type is None
        link_url = (
            link_url_for(self._runtime.link_url, wanted, self._runtime.link_page(self.page_id))
            if linking
            else None
        )
        buttons = login_buttons(
            url,
            link_url=link_url,
            button_title=button_title,
            browser_button_title=browser_button_title,
        )
        await self.reply(message=button_template(text, buttons))
        # The login funnel's first step, committed with the prompt (no client kind yet).
        self.stage(CountFunnel(FunnelStep(self.login_flow, UNKNOWN_CLIENT, "prompt_sent")))

    # -- the person -----------------------------------------------------------------------
    async def user_profile(self) -> UserProfile | None:
        """The person's user profile (``name``, ``first_name``, ``last_name``,
        ``profile_pic``), read with the page's token; ``None`` when Facebook won't share it.
        Cached in the store (for ``BOTPERMS_PROFILE_TTL_SECONDS``) and in this context, so
        most events make no Graph call for it. Not the page's Messenger Profile."""
        if self._user_profile is None:
            self._user_profile = await read_user_profile(self._runtime, self.page_id, self.psid)
        return self._user_profile

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
    def page_graph(self) -> BoundGraph:
        """A Graph client bound to the token of the page this event came to (``page_id``):
        with several pages, each event's calls go out as its own page."""
        return self._runtime.graph.for_token(self._runtime.cached_token_for(self.page_id))

    @property
    def user_graph(self) -> BoundGraph:
        """A Graph client bound to this person's token (every call carries appsecret_proof);
        raises :class:`NotGranted` when the person is not logged in."""
        return self._runtime.graph.for_token(self.user_token)

    # -- leaving --------------------------------------------------------------------------
    async def log_out(self, *, on_facebook: bool = False) -> bool:
        """Log the person out, whichever way they logged in: a Facebook Login through the
        login link is revoked (:meth:`revoke`); an account linked through Messenger's
        account linking is also unlinked on Messenger's side (:meth:`unlink`). With
        ``on_facebook`` the app's permissions are removed on Facebook too
        (``DELETE /me/permissions``). Returns whether the person was logged in.

        A person without a grant is unlinked only when the bot uses the account_link flow
        (their link may outlive an expired token)."""
        linked = self.grant.flow == ACCOUNT_LINK if self.grant else self.login_flow == ACCOUNT_LINK
        if linked:
            return await self.unlink(on_facebook=on_facebook)
        return await self.revoke(on_facebook=on_facebook)

    async def revoke(self, *, on_facebook: bool = True, reason: str = "logout") -> bool:
        """Log the person out: forget their token, end logins still in progress and drop a
        waiting request. With ``on_facebook`` also remove the app's permissions on Facebook
        (``DELETE /me/permissions``; a failure there is logged, not raised). ``reason`` is
        recorded with the ended grant. Returns whether they were logged in. Prefer
        :meth:`log_out`, which picks between this and :meth:`unlink`.

        Our copy is forgotten when the event commits; the call to Facebook happens at once."""
        revoked = self.grant
        self.effects.append(Leave(self.page_id, self.psid, reason))
        self.grant = None
        self.pending_intent = None
        if revoked is None:
            return False
        if on_facebook:
            await remove_permissions(self._runtime, self.psid, revoked.access_token)
        return True

    async def unlink(self, *, on_facebook: bool = True, reason: str = "logout") -> bool:
        """Log out in the account_link flow: :meth:`revoke`, then unlink the account on
        Messenger's side (``POST /me/unlink_accounts``). Messenger answers with an ``unlinked``
        webhook, which then finds no grant and says no second goodbye. Returns whether the
        person was logged in."""
        was_logged_in = await self.revoke(on_facebook=on_facebook, reason=reason)
        await unlink_on_messenger(self._runtime, self.page_id, self.psid)
        return was_logged_in


Handler = Callable[[Context], Awaitable[None]]

"""The login-link flow: ticket → Facebook Login dialog → code exchange → stored grant.

Two entry points, ``begin`` and ``callback`` (Bolt's OAuthFlow shape). Both return plain results
or raise ``FlowError``; turning them into HTTP responses is the web layer's job. Each step lives
in a module of its own: ``login_start`` (the prompt's URL, the ticket), ``login_dialog`` (state,
PKCE, the dialog URL), ``login_callback`` (state check, code exchange, the grant) and
``login_outcome`` (what the bot hears of a failure). ``LoginService`` puts them together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from botperms.config import Settings
from botperms.flows.login_callback import LoginCallback, LoginDone, with_code
from botperms.flows.login_dialog import CALLBACK_PATH, LoginDialog, LoginStart, new_browser_nonce
from botperms.flows.login_outcome import LoginOutcomes
from botperms.flows.login_start import START_PATH, LoginStarter
from botperms.flows.tickets import Ticket, TicketSigner, utcnow
from botperms.graph import GraphClient
from botperms.store import Store

__all__ = [
    "CALLBACK_PATH",
    "START_PATH",
    "LoginDone",
    "LoginService",
    "LoginStart",
    "with_code",
]


class LoginService:
    def __init__(
        self,
        settings: Settings,
        graph: GraphClient,
        store: Store,
        tickets: TicketSigner,
        *,
        on_event_queued: Callable[[str, str], None] = lambda _page_id, _psid: None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``on_event_queued(page_id, psid)``: called after a login outcome was queued in the
        inbox for the bot (the composition root wakes the inbox worker, or defers the
        conversation's job in the distributed mode)."""
        self.settings = settings
        self.store = store
        self.outcomes = LoginOutcomes(store, on_event_queued)
        self.dialog = LoginDialog(settings, store, clock)
        self.starter = LoginStarter(settings, tickets, self.dialog, self.outcomes)
        self._callback = LoginCallback(settings, graph, store, self.outcomes, clock)

    # -- the button -----------------------------------------------------------------------
    def login_url(
        self,
        page_id: str,
        psid: str,
        scopes: tuple[str, ...] | None = None,
        *,
        auth_type: str | None = None,
        display_name: str | None = None,
    ) -> str:
        """The URL a "Log in" web_url button opens for this person."""
        return self.starter.login_url(
            page_id, psid, scopes, auth_type=auth_type, display_name=display_name
        )

    # -- start ----------------------------------------------------------------------------
    def read_ticket(self, raw: str | None) -> Ticket:
        return self.starter.read_ticket(raw)

    @staticmethod
    def new_browser_nonce() -> str:
        return new_browser_nonce()

    async def preview(self, raw_ticket: str | None, *, user_agent: str | None = None) -> Ticket:
        """Checks a ticket without using it up (the confirmation page shows whose it is)."""
        return await self.starter.preview(raw_ticket, user_agent=user_agent)

    async def begin(
        self, raw_ticket: str | None, *, browser_nonce: str | None, user_agent: str | None
    ) -> LoginStart:
        return await self.starter.begin(
            raw_ticket, browser_nonce=browser_nonce, user_agent=user_agent
        )

    async def start_login(
        self,
        *,
        ticket_id: str,
        page_id: str,
        psid: str,
        scopes: tuple[str, ...],
        flow: str,
        auth_type: str | None,
        browser_nonce: str,
        user_agent: str | None,
        linking_redirect_uri: str | None = None,
        ttl_seconds: int | None = None,
    ) -> LoginStart:
        """Record the attempt and build the Login dialog URL (both flows start here); see
        ``LoginDialog.start``."""
        return await self.dialog.start(
            ticket_id=ticket_id,
            page_id=page_id,
            psid=psid,
            scopes=scopes,
            flow=flow,
            auth_type=auth_type,
            browser_nonce=browser_nonce,
            user_agent=user_agent,
            linking_redirect_uri=linking_redirect_uri,
            ttl_seconds=ttl_seconds,
        )

    # -- callback -------------------------------------------------------------------------
    async def callback(
        self, params: Mapping[str, str], *, browser_nonce: str | None, user_agent: str | None
    ) -> LoginDone:
        return await self._callback.handle(
            params, browser_nonce=browser_nonce, user_agent=user_agent
        )

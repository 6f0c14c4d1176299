"""The start of the login-link flow: the prompt's URL (a signed ticket), the confirmation page's
preview of it, and ``begin``, which uses the ticket up and hands over to the dialog step."""

from __future__ import annotations

import structlog

from botperms.config import LoginFlow, Settings
from botperms.flows.errors import FailureReason, FlowError
from botperms.flows.login_dialog import LoginDialog, LoginStart, new_browser_nonce
from botperms.flows.login_outcome import LoginOutcomes
from botperms.flows.tickets import Ticket, TicketSigner
from botperms.store import StoreError, TicketAlreadyUsed

log = structlog.get_logger(__name__)

START_PATH = "/auth/start"


class LoginStarter:
    def __init__(
        self,
        settings: Settings,
        tickets: TicketSigner,
        dialog: LoginDialog,
        outcomes: LoginOutcomes,
    ) -> None:
        self.settings = settings
        self.tickets = tickets
        self.dialog = dialog
        self.outcomes = outcomes

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
        ticket = self.tickets.issue(
            page_id,
            psid,
            scopes or tuple(self.settings.scopes),
            # A login link is the web flow, even beside account linking (the desktop button).
            flow=LoginFlow.WEB,
            auth_type=auth_type,
            display_name=display_name,
        )
        return f"{self.settings.url(START_PATH)}?ticket={ticket}"

    def read_ticket(self, raw: str | None) -> Ticket:
        if not raw:
            raise FlowError(FailureReason.TICKET_INVALID, "no ticket in the link")
        return self.tickets.verify(raw)

    async def preview(self, raw_ticket: str | None, *, user_agent: str | None = None) -> Ticket:
        """Checks a ticket without using it up (the confirmation page shows whose it is).
        The funnel counts the link opened when it is a prompt's (even an expired one)."""
        try:
            ticket = self.read_ticket(raw_ticket)
            if await self.dialog.store.ticket_used(ticket.ticket_id):
                # Shown at once, rather than a confirm page whose button can only fail.
                raise FlowError(FailureReason.TICKET_USED, page_id=ticket.page_id, psid=ticket.psid)
        except FlowError as exc:
            if exc.page_id and exc.psid:
                await self.outcomes.link_opened(LoginFlow.WEB.value, user_agent)
            await self.outcomes.dead_link(exc, raw_ticket, user_agent)
            raise
        await self.outcomes.link_opened(ticket.flow.value, user_agent)
        return ticket

    async def begin(
        self, raw_ticket: str | None, *, browser_nonce: str | None, user_agent: str | None
    ) -> LoginStart:
        try:
            return await self._begin(raw_ticket, browser_nonce, user_agent)
        except FlowError as exc:
            await self.outcomes.dead_link(exc, raw_ticket, user_agent)
            raise

    async def _begin(
        self, raw_ticket: str | None, browser_nonce: str | None, user_agent: str | None
    ) -> LoginStart:
        ticket = self.read_ticket(raw_ticket)
        try:
            started = await self.dialog.start(
                ticket_id=ticket.ticket_id,
                page_id=ticket.page_id,
                psid=ticket.psid,
                scopes=ticket.scopes,
                flow=ticket.flow.value,
                auth_type=ticket.auth_type,
                browser_nonce=browser_nonce or new_browser_nonce(),
                user_agent=user_agent,
            )
        except TicketAlreadyUsed:
            raise FlowError(
                FailureReason.TICKET_USED, page_id=ticket.page_id, psid=ticket.psid
            ) from None
        except StoreError as exc:
            raise FlowError(FailureReason.STORAGE_ERROR, str(exc)) from None
        log.info("login.started", page_id=ticket.page_id, psid=ticket.psid, scopes=ticket.scopes)
        return started

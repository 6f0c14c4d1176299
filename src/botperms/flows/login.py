"""The login-link flow: ticket → Facebook Login dialog → code exchange → stored grant.

Two entry points, ``begin`` and ``callback`` (Bolt's OAuthFlow shape). Both return plain results
or raise ``FlowError``; turning them into HTTP responses is the web layer's job.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog

from botperms.config import LoginFlow, Settings
from botperms.flows.client_kind import ClientKind, classify, messenger_url
from botperms.flows.errors import FailureReason, FlowError
from botperms.flows.tickets import Ticket, TicketSigner, utcnow
from botperms.graph import (
    GraphClient,
    GraphError,
    InvalidTokenError,
    debug_token,
    dialog_url,
    exchange_code,
    exchange_long_lived,
    get_permissions,
    new_pkce_pair,
)
from botperms.metrics import LOGINS
from botperms.store import (
    AttemptAlreadyConsumed,
    GrantRecord,
    LoginAttemptRecord,
    LoginCancelled,
    Store,
    StoreError,
    TicketAlreadyUsed,
)

log = structlog.get_logger(__name__)

CALLBACK_PATH = "/auth/callback"
START_PATH = "/auth/start"


@dataclass(frozen=True)
class LoginStart:
    dialog_url: str
    browser_nonce: str  # goes into an HttpOnly cookie; its hash binds the state to this browser


@dataclass(frozen=True)
class LoginDone:
    grant: GrantRecord
    requested: tuple[str, ...]
    client: ClientKind
    messenger_url: str
    # Account linking: redirect_uri with our authorization_code; the browser goes there.
    link_redirect: str | None = None

    @property
    def declined(self) -> tuple[str, ...]:
        return tuple(s for s in self.requested if s not in self.grant.scopes_granted)


def with_code(redirect_uri: str, code: str) -> str:
    """``redirect_uri`` with ``authorization_code`` appended, keeping its own query (Messenger's
    already carries the account_linking_token)."""
    parts = urlsplit(redirect_uri)
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key != "authorization_code"
    ]
    query.append(("authorization_code", code))
    return urlunsplit(parts._replace(query=urlencode(query)))


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def browser_hash(nonce: str) -> str:
    return hashlib.sha256(b"browser:" + nonce.encode()).hexdigest()


class LoginService:
    def __init__(
        self,
        settings: Settings,
        graph: GraphClient,
        store: Store,
        tickets: TicketSigner,
        *,
        on_event_queued: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``on_event_queued``: called after a login outcome was queued in the inbox for the
        bot (the composition root wakes the inbox worker with it)."""
        self.settings = settings
        self.graph = graph
        self.store = store
        self.tickets = tickets
        self.on_event_queued = on_event_queued
        self.clock = clock

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

    # -- start ----------------------------------------------------------------------------
    def read_ticket(self, raw: str | None) -> Ticket:
        if not raw:
            raise FlowError(FailureReason.TICKET_INVALID, "no ticket in the link")
        return self.tickets.verify(raw)

    @staticmethod
    def new_browser_nonce() -> str:
        return secrets.token_urlsafe(24)

    async def preview(self, raw_ticket: str | None) -> Ticket:
        """Checks a ticket without using it up (the confirmation page shows whose it is)."""
        try:
            return self.read_ticket(raw_ticket)
        except FlowError as exc:
            await self._tell_person(exc, raw_ticket)
            raise

    async def begin(
        self, raw_ticket: str | None, *, browser_nonce: str | None, user_agent: str | None
    ) -> LoginStart:
        try:
            return await self._begin(raw_ticket, browser_nonce, user_agent)
        except FlowError as exc:
            await self._tell_person(exc, raw_ticket)
            raise

    async def _tell_person(self, exc: FlowError, raw_ticket: str | None) -> None:
        # An expired or used link of a known person: the bot can send a fresh one. Keyed on
        # the link, so opening the same dead link twice tells the person once.
        if exc.page_id and exc.psid:
            key = "ticket:" + hashlib.sha256((raw_ticket or "").encode()).hexdigest()
            await self._queue_failure(None, exc.page_id, exc.psid, exc.reason, key)

    async def _begin(
        self, raw_ticket: str | None, browser_nonce: str | None, user_agent: str | None
    ) -> LoginStart:
        ticket = self.read_ticket(raw_ticket)
        try:
            started = await self.start_login(
                ticket_id=ticket.ticket_id,
                page_id=ticket.page_id,
                psid=ticket.psid,
                scopes=ticket.scopes,
                flow=ticket.flow.value,
                auth_type=ticket.auth_type,
                browser_nonce=browser_nonce or self.new_browser_nonce(),
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
        """Record the attempt (state hashed, PKCE verifier encrypted, bound to this browser)
        and build the Login dialog URL. Both flows start here; ``ticket_id`` makes the thing
        that started it single-use (``TicketAlreadyUsed``); ``StoreError`` passes through."""
        state = secrets.token_urlsafe(32)
        verifier, challenge = new_pkce_pair()
        ttl = ttl_seconds or self.settings.state_ttl_seconds
        await self.store.create_attempt(
            state_hash=state_hash(state),
            ticket_id=ticket_id,
            page_id=page_id,
            psid=psid,
            scopes=list(scopes),
            flow=flow,
            auth_type=auth_type,
            linking_redirect_uri=linking_redirect_uri,
            code_verifier=verifier,
            browser_hash=browser_hash(browser_nonce),
            client_kind=classify(user_agent).value,
            expires_at=self.clock() + timedelta(seconds=ttl),
        )
        url = dialog_url(
            www_url=self.settings.www_url,
            graph_version=self.settings.graph_version,
            app_id=self.settings.app_id,
            redirect_uri=self.settings.url(CALLBACK_PATH),
            state=state,
            scopes=scopes,
            code_challenge=challenge,
            auth_type=auth_type,
        )
        return LoginStart(dialog_url=url, browser_nonce=browser_nonce)

    # -- callback -------------------------------------------------------------------------
    async def callback(
        self, params: Mapping[str, str], *, browser_nonce: str | None, user_agent: str | None
    ) -> LoginDone:
        attempt = await self._consume_state(params.get("state"), browser_nonce)
        try:
            done = await self._complete(attempt, params, user_agent)
        except FlowError as exc:
            exc.page_id, exc.psid = attempt.page_id, attempt.psid
            exc.link_redirect = attempt.linking_redirect_uri
            if exc.reason is FailureReason.LOGIN_CANCELLED:
                LOGINS.labels(exc.reason.value).inc()  # the person cancelled: nothing to tell
            else:
                await self._record_failure(attempt, exc.reason)
            raise
        LOGINS.labels("granted").inc()
        # An active grant's on-login event was queued with it; an account-link grant is
        # announced when Messenger's `linked` webhook confirms it ("pending" until then).
        if done.grant.status == "active":
            self.on_event_queued()
        return done

    async def _consume_state(self, state: str | None, nonce: str | None) -> LoginAttemptRecord:
        if not state:
            raise FlowError(FailureReason.STATE_MISSING, "the callback carried no state")
        try:
            attempt = await self.store.consume_attempt(state_hash(state), self.clock())
        except AttemptAlreadyConsumed:
            raise await self._used_state(state_hash(state)) from None
        except StoreError as exc:
            raise FlowError(FailureReason.STORAGE_ERROR, str(exc)) from None
        if attempt is None:
            raise FlowError(FailureReason.STATE_INVALID, "unknown state")
        failure: FailureReason | None = None
        if attempt.expires_at <= self.clock():
            failure = FailureReason.STATE_EXPIRED
        elif not nonce or not secrets.compare_digest(browser_hash(nonce), attempt.browser_hash):
            # The cookie set at /auth/start is missing or different: the callback did not come
            # back to the browser that started this login (a forwarded or injected callback).
            failure = FailureReason.BROWSER_MISMATCH
        if failure is not None:
            await self._record_failure(attempt, failure)
            raise FlowError(
                failure,
                page_id=attempt.page_id,
                psid=attempt.psid,
                link_redirect=attempt.linking_redirect_uri,
            )
        return attempt

    async def _used_state(self, hashed: str) -> FlowError:
        try:
            attempt = await self.store.get_attempt(hashed)
        except StoreError:
            attempt = None
        if attempt is not None and (attempt.outcome or "").startswith("cancelled"):
            # Unlinked or logged out meanwhile; an account link is told "no" the usual way.
            return FlowError(
                FailureReason.LOGIN_CANCELLED,
                page_id=attempt.page_id,
                psid=attempt.psid,
                link_redirect=attempt.linking_redirect_uri,
            )
        # A replayed callback: the first one already went back to Messenger.
        return FlowError(FailureReason.STATE_USED)

    async def _complete(
        self, attempt: LoginAttemptRecord, params: Mapping[str, str], user_agent: str | None
    ) -> LoginDone:
        if params.get("error"):
            raise FlowError(FailureReason.ACCESS_DENIED, params.get("error_reason", ""))
        code = params.get("code")
        if not code:
            raise FlowError(FailureReason.CODE_MISSING)
        try:
            short = await exchange_code(
                self.graph,
                code=code,
                redirect_uri=self.settings.url(CALLBACK_PATH),
                code_verifier=attempt.code_verifier,
            )
            token = (await exchange_long_lived(self.graph, short.access_token)).access_token
            info = await debug_token(self.graph, token)
            if not info.is_valid or info.type != "USER" or not info.user_id:
                raise FlowError(FailureReason.TOKEN_INVALID, "Facebook says the token is not valid")
            if info.app_id != self.settings.app_id:
                raise FlowError(FailureReason.WRONG_APP, "the token belongs to another app")
            permissions = await get_permissions(self.graph, token)
        except InvalidTokenError as exc:
            raise FlowError(FailureReason.TOKEN_INVALID, str(exc)) from None
        except GraphError as exc:
            raise FlowError(FailureReason.GRAPH_ERROR, str(exc)) from None
        linking = attempt.flow == "account_link" and attempt.linking_redirect_uri is not None
        link_code = secrets.token_urlsafe(32) if linking else None
        try:
            # One transaction: the person's ASID, their grant, (account linking) the code and
            # the bot's on-login event are stored together or not at all, and only if the
            # login was not cancelled while we were talking to Facebook.
            grant = await self.store.record_login(
                state_hash=attempt.state_hash,
                page_id=attempt.page_id,
                psid=attempt.psid,
                asid=info.user_id,
                access_token=token,
                scopes_granted=list(permissions.granted),
                scopes_declined=list(permissions.declined),
                expires_at=info.expires_at,
                data_access_expires_at=info.data_access_expires_at,
                flow=attempt.flow,
                requested=attempt.scopes,
                link_code=link_code,
                link_code_expires_at=self.clock()
                + timedelta(seconds=self.settings.link_code_ttl_seconds),
            )
        except LoginCancelled:
            raise FlowError(FailureReason.LOGIN_CANCELLED) from None
        except StoreError as exc:
            raise FlowError(FailureReason.STORAGE_ERROR, str(exc)) from None
        log.info(
            "login.granted",
            page_id=attempt.page_id,
            psid=attempt.psid,
            granted=permissions.granted,
            declined=permissions.declined,
        )
        return LoginDone(
            grant=grant,
            requested=tuple(attempt.scopes),
            client=classify(user_agent),
            messenger_url=messenger_url(self.settings.m_me_url, attempt.page_id),
            link_redirect=(
                with_code(attempt.linking_redirect_uri, link_code)
                if link_code is not None and attempt.linking_redirect_uri is not None
                else None
            ),
        )

    async def _record_failure(self, attempt: LoginAttemptRecord, reason: FailureReason) -> None:
        log.info("login.failed", page_id=attempt.page_id, psid=attempt.psid, reason=reason.value)
        LOGINS.labels(reason.value).inc()
        await self._queue_failure(
            attempt.state_hash, attempt.page_id, attempt.psid, reason, attempt.state_hash
        )

    async def _queue_failure(
        self, state_hash: str | None, page_id: str, psid: str, reason: FailureReason, key: str
    ) -> None:
        """The attempt's outcome and the bot's on_login_failed event, together. A failure
        here must not break the browser's page, which says what went wrong anyway."""
        try:
            await self.store.record_login_failure(
                state_hash=state_hash, page_id=page_id, psid=psid, reason=reason.value, key=key
            )
        except StoreError:
            log.warning("login.outcome_not_recorded", reason=reason.value)
            return
        self.on_event_queued()

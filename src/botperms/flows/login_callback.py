"""The callback step: the OAuth state used up and checked against the browser, the code
exchanged for a long-lived token that Facebook vouches for, and the grant stored."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog

from botperms.config import Settings
from botperms.flows.client_kind import ClientKind, classify, messenger_url
from botperms.flows.errors import FailureReason, FlowError
from botperms.flows.login_dialog import CALLBACK_PATH, browser_hash, state_hash
from botperms.flows.login_outcome import LoginOutcomes, finished
from botperms.graph import (
    GraphClient,
    GraphError,
    InvalidTokenError,
    debug_token,
    exchange_code,
    exchange_long_lived,
    get_permissions,
)
from botperms.metrics import LOGINS
from botperms.store import (
    AttemptAlreadyConsumed,
    GrantRecord,
    LoginAttemptRecord,
    LoginCancelled,
    Store,
    StoreError,
)

log = structlog.get_logger(__name__)


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


class LoginCallback:
    def __init__(
        self,
        settings: Settings,
        graph: GraphClient,
        store: Store,
        outcomes: LoginOutcomes,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.graph = graph
        self.store = store
        self.outcomes = outcomes
        self.clock = clock

    async def handle(
        self, params: Mapping[str, str], *, browser_nonce: str | None, user_agent: str | None
    ) -> LoginDone:
        attempt = await self._consume_state(params.get("state"), browser_nonce)
        try:
            done = await self._complete(attempt, params, user_agent)
        except FlowError as exc:
            exc.page_id, exc.psid = attempt.page_id, attempt.psid
            exc.link_redirect = attempt.linking_redirect_uri
            if exc.reason is FailureReason.LOGIN_CANCELLED:
                await self.outcomes.cancelled_meanwhile(attempt)  # nothing to tell them
            else:
                await self.outcomes.failed(attempt, exc.reason)
            raise
        LOGINS.labels("granted").inc()
        # An active grant's on-login event was queued with it; an account-link grant is
        # announced when Messenger's `linked` webhook confirms it ("pending" until then).
        if done.grant.status == "active":
            self.outcomes.on_event_queued(done.grant.page_id, done.grant.psid)
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
            await self.outcomes.failed(attempt, failure)
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
                funnel=finished(
                    attempt.flow, attempt.client_kind, attempt.scopes, permissions.granted
                ),
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

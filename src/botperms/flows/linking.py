"""Messenger's Account Linking: ``/link/start`` → the same Facebook Login → back to Messenger.

Messenger opens our linking URL with ``account_linking_token`` and ``redirect_uri``. We ask the
Graph API whose token it is (so Facebook, not the URL, tells us the PSID), run the login-link
flow's Login with that PSID, and on success send the browser to ``redirect_uri`` with a fresh
``authorization_code``. Messenger then sends the ``account_linking`` webhook with that code,
and only then (bot layer, ``store.confirm_link``) does the grant become active. Every failure
ends in a redirect *without* a code, which is how Messenger learns that linking was aborted
(contract §3); only a redirect_uri we would not follow gets an error page instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog

from botperms.config import Settings, is_permission_name
from botperms.flows.client_kind import classify
from botperms.flows.errors import FailureReason, FlowError
from botperms.flows.login import LoginService, LoginStart
from botperms.graph import (
    GraphClient,
    GraphError,
    LinkingTokenError,
    psid_for_linking_token,
)
from botperms.metrics import LOGINS
from botperms.store import PageDirectory, Store, StoreError, TicketAlreadyUsed
from botperms.store.funnel import FunnelStep

log = structlog.get_logger(__name__)

LINK_START_PATH = "/link/start"


def _allowed_host(host: str, allowed: str) -> bool:
    allowed = allowed.lower().lstrip(".")
    return host == allowed or host.endswith("." + allowed)


def safe_redirect_uri(raw: str | None, settings: Settings) -> str:
    """``raw`` if it points at Messenger/Facebook (or at WWW_URL, for fakebook); else
    ``FlowError(LINK_REDIRECT_INVALID)``. Never an open redirect."""
    if not raw or len(raw) > 2048 or not raw.isprintable() or any(ch in raw for ch in "\\ "):
        # isprintable(): no control characters anywhere (CR, LF, tab, NUL, \x0b, \x1f, …).
        raise FlowError(FailureReason.LINK_REDIRECT_INVALID, "missing or malformed redirect_uri")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise FlowError(FailureReason.LINK_REDIRECT_INVALID, "malformed redirect_uri") from None
    host = (parts.hostname or "").lower()
    www = urlsplit(settings.www_url)
    if parts.scheme == www.scheme and parts.netloc.lower() == www.netloc.lower():
        return raw  # exactly our configured Facebook (fakebook offline), port included
    if parts.username is not None or parts.password is not None:
        raise FlowError(FailureReason.LINK_REDIRECT_INVALID, "redirect_uri carries credentials")
    if parts.scheme != "https" or port not in (None, 443) or not host:
        raise FlowError(FailureReason.LINK_REDIRECT_INVALID, "redirect_uri is not https")
    if "" in host.split("."):
        # ".messenger.com", "a..facebook.com": no browser goes there, and no host of ours is one.
        raise FlowError(FailureReason.LINK_REDIRECT_INVALID, f"redirect_uri host {host!r}")
    if not any(_allowed_host(host, allowed) for allowed in settings.linking_redirect_hosts):
        raise FlowError(FailureReason.LINK_REDIRECT_INVALID, f"redirect_uri host {host!r}")
    return raw


def _requested_scopes(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if not raw:
        return default
    scopes = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if not scopes or not all(is_permission_name(scope) for scope in scopes):
        return default
    return scopes


@dataclass(frozen=True)
class LinkAborted:
    """Linking ended before Login: send the browser here (redirect_uri, no code)."""

    redirect_url: str
    reason: str


class LinkingService:
    """``/link/start``: checks Messenger's parameters, then hands over to ``LoginService``."""

    def __init__(
        self,
        settings: Settings,
        graph: GraphClient,
        store: Store,
        login: LoginService,
        pages: PageDirectory | None = None,
    ) -> None:
        """``pages``: the page tokens (the settings' page only when None); the link URL's
        ``page_id`` parameter names the page whose token resolves the person."""
        self.settings = settings
        self.graph = graph
        self.store = store
        self.login = login
        self.pages = pages

    def link_url(self) -> str:
        """The ``account_link`` button's URL."""
        return self.settings.url(LINK_START_PATH)

    async def begin(
        self, params: Mapping[str, str], *, browser_nonce: str, user_agent: str | None
    ) -> LoginStart | LinkAborted:
        redirect_uri = safe_redirect_uri(params.get("redirect_uri"), self.settings)
        await self.login.outcomes.link_opened("account_link", user_agent)
        token = params.get("account_linking_token") or ""
        if not token:
            return await self._abort(redirect_uri, "no account_linking_token", user_agent)
        # Set by the bot for a page added with `botperms pages` (bot/replies.link_url_for).
        page_id = params.get("page_id") or self.settings.page_id
        page_token = await self._page_token(page_id)
        if page_token is None:
            return await self._abort(redirect_uri, f"unknown page {page_id}", user_agent)
        try:
            psid = await psid_for_linking_token(self.graph, page_token, token)
        except LinkingTokenError:
            return await self._abort(
                redirect_uri, "account_linking_token expired or unknown", user_agent
            )
        except GraphError as exc:
            return await self._abort(redirect_uri, f"PSID look-up failed: {exc}", user_agent)
        scopes = _requested_scopes(params.get("scope"), tuple(self.settings.scopes))
        try:
            started = await self.login.start_login(
                # One attempt per linking token: a reloaded /link/start cannot start a second.
                ticket_id="link:" + hashlib.sha256(token.encode()).hexdigest(),
                page_id=page_id,
                psid=psid,
                scopes=scopes,
                flow="account_link",
                auth_type="rerequest" if params.get("auth_type") == "rerequest" else None,
                browser_nonce=browser_nonce,
                user_agent=user_agent,
                linking_redirect_uri=redirect_uri,
                # The whole round trip must end inside Messenger's window for the token.
                ttl_seconds=min(self.settings.state_ttl_seconds, self.settings.link_window_seconds),
            )
        except TicketAlreadyUsed:
            return await self._abort(redirect_uri, "account_linking_token used before", user_agent)
        except StoreError as exc:
            return await self._abort(redirect_uri, f"storage: {exc}", user_agent)
        log.info("link.started", page_id=page_id, psid=psid, scopes=scopes)
        return started

    async def _page_token(self, page_id: str) -> str | None:
        if self.pages is not None:
            return await self.pages.token(page_id)
        if page_id == self.settings.page_id:
            return self.settings.page_token.get_secret_value()
        return None

    async def _abort(self, redirect_uri: str, reason: str, user_agent: str | None) -> LinkAborted:
        log.info("link.aborted", reason=reason)
        LOGINS.labels("link_aborted").inc()
        kind = classify(user_agent).value
        await self.login.outcomes.count(FunnelStep("account_link", kind, "failed", "link_aborted"))
        return LinkAborted(redirect_url=redirect_uri, reason=reason)

"""The Login dialog step: a fresh OAuth state and PKCE pair, the attempt recorded (state
hashed, verifier encrypted, bound to this browser), and the dialog URL. Both flows start here."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from botperms.config import Settings
from botperms.flows.client_kind import classify
from botperms.graph import dialog_url, new_pkce_pair
from botperms.store import Store
from botperms.store.funnel import FunnelStep

CALLBACK_PATH = "/auth/callback"


@dataclass(frozen=True)
class LoginStart:
    dialog_url: str
    browser_nonce: str  # goes into an HttpOnly cookie; its hash binds the state to this browser


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def browser_hash(nonce: str) -> str:
    return hashlib.sha256(b"browser:" + nonce.encode()).hexdigest()


def new_browser_nonce() -> str:
    return secrets.token_urlsafe(24)


class LoginDialog:
    def __init__(self, settings: Settings, store: Store, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    async def start(
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
        """Record the attempt and build the dialog URL. ``ticket_id`` makes the thing that
        started it single-use (``TicketAlreadyUsed``); ``StoreError`` passes through."""
        state = secrets.token_urlsafe(32)
        verifier, challenge = new_pkce_pair()
        ttl = ttl_seconds or self.settings.state_ttl_seconds
        client_kind = classify(user_agent).value
        # The attempt and the funnel's "dialog_reached" commit together.
        await self.store.start_attempt(
            funnel=FunnelStep(flow, client_kind, "dialog_reached"),
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
            client_kind=client_kind,
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

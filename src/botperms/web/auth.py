"""``/auth/start`` and ``/auth/callback``: the browser side of the login-link flow (and of
account linking, which shares the callback)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from botperms.flows import ClientKind, FailureReason, FlowError, LoginService, messenger_url
from botperms.flows.tickets import derive_key
from botperms.web.pages import error_page, render
from botperms.web.services import Services

log = structlog.get_logger(__name__)

BROWSER_COOKIE = "botperms_browser"


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _form_token(services: Services, nonce: str, ticket: str) -> str:
    """Ties the confirm form to the browser cookie, so another site cannot post it for us."""
    key = derive_key(services.settings.app_secret.get_secret_value(), "botperms start form v1")
    return hmac.new(key, f"{nonce}|{ticket}".encode(), hashlib.sha256).hexdigest()


def set_browser_cookie(services: Services, response: Response, nonce: str) -> None:
    response.set_cookie(
        BROWSER_COOKIE,
        nonce,
        max_age=services.settings.state_ttl_seconds + services.settings.ticket_ttl_seconds,
        path="/auth",
        httponly=True,
        secure=services.settings.public_url.startswith("https://"),
        # Lax: sent on the top-level GET back from facebook.com, never on a cross-site POST.
        samesite="lax",
    )


def flow_error(request: Request, exc: FlowError) -> Response:
    if exc.link_redirect is not None:
        # An account-linking attempt: Messenger hears "no" from a redirect without a code.
        response = RedirectResponse(exc.link_redirect, status_code=302)
        response.headers["Cache-Control"] = "no-store"
        return response
    services = services_of(request)
    back = messenger_url(services.settings.m_me_url, exc.page_id or services.settings.page_id)
    return error_page(request, exc.reason, back_url=back, status_code=exc.http_status)


async def start_confirm(request: Request) -> Response:
    """Shows whose conversation this login is for before anything else happens."""
    services = services_of(request)
    raw = request.query_params.get("ticket")
    try:
        ticket = await services.login.preview(raw, user_agent=request.headers.get("user-agent"))
    except FlowError as exc:
        return flow_error(request, exc)
    assert raw is not None  # preview() refused a missing ticket
    nonce = request.cookies.get(BROWSER_COOKIE) or LoginService.new_browser_nonce()
    context: dict[str, Any] = {
        "ticket": raw,
        "form_token": _form_token(services, nonce, raw),
        "display_name": ticket.display_name,
        "scopes": [scope for scope in ticket.scopes if scope != "public_profile"],
        "rerequest": ticket.auth_type == "rerequest",
        "back_url": messenger_url(services.settings.m_me_url, ticket.page_id),
    }
    response = render(request, "start.html", context)
    set_browser_cookie(services, response, nonce)
    response.headers["Cache-Control"] = "no-store"
    return response


async def start_submit(request: Request) -> Response:
    services = services_of(request)
    form = await request.form()
    raw = str(form.get("ticket") or "")
    nonce = request.cookies.get(BROWSER_COOKIE)
    token = str(form.get("form_token") or "")
    if not nonce or not hmac.compare_digest(token, _form_token(services, nonce, raw)):
        log.warning("login.start_form_refused", has_cookie=nonce is not None)
        return flow_error(request, FlowError(FailureReason.BROWSER_MISMATCH))
    try:
        started = await services.login.begin(
            raw, browser_nonce=nonce, user_agent=request.headers.get("user-agent")
        )
    except FlowError as exc:
        return flow_error(request, exc)
    response = RedirectResponse(started.dialog_url, status_code=303)
    set_browser_cookie(services, response, started.browser_nonce)
    return response


async def callback(request: Request) -> Response:
    services = services_of(request)
    params = {key: value for key, value in request.query_params.items()}
    try:
        done = await services.login.callback(
            params,
            browser_nonce=request.cookies.get(BROWSER_COOKIE),
            user_agent=request.headers.get("user-agent"),
        )
    except FlowError as exc:
        return flow_error(request, exc)
    if done.link_redirect is not None:
        # Account linking: back to Messenger with our authorization_code; it closes the webview.
        linked = RedirectResponse(done.link_redirect, status_code=302)
        linked.headers["Cache-Control"] = "no-store"
        linked.headers["Referrer-Policy"] = "no-referrer"
        return linked
    if done.client is ClientKind.PHONE:
        # A phone browser: m.me opens the Messenger app on the conversation.
        return RedirectResponse(done.messenger_url, status_code=302)
    context = {
        "client": done.client.value,
        "back_url": done.messenger_url,
        "declined": [s for s in done.declined if s != "public_profile"],
        "sdk_url": services.settings.extensions_sdk_url,
        "app_id": services.settings.app_id,
    }
    response = render(request, "done.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response

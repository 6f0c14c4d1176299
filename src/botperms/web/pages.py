"""Jinja2 pages for people: the confirm page, the way back to Messenger, and named errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from botperms.flows import FailureReason
from botperms.web.headers import page_policy

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
# The only page that runs a script: return.js and the Messenger Extensions SDK it loads.
_PAGES_WITH_SCRIPTS = frozenset({"done.html"})

# What a person reads for each failure: what happened, and what to do next.
_ERRORS: dict[FailureReason, tuple[str, str]] = {
    FailureReason.TICKET_INVALID: (
        "This login link isn't valid",
        "It may have been cut short or changed. Go back to the conversation and send any "
        "message to get a new one.",
    ),
    FailureReason.TICKET_EXPIRED: (
        "This login link has expired",
        "Login links only work for a few minutes. We've sent you a fresh one in Messenger.",
    ),
    FailureReason.TICKET_USED: (
        "This login link was already used",
        "Each link works once. We've sent you a fresh one in Messenger.",
    ),
    FailureReason.STATE_MISSING: (
        "We couldn't match this login",
        "Facebook sent you back without the information we need. Please start again from "
        "the conversation.",
    ),
    FailureReason.STATE_INVALID: (
        "We couldn't match this login",
        "This login was not started here, or it was cleaned up. Please start again from the "
        "conversation.",
    ),
    FailureReason.STATE_EXPIRED: (
        "This login took too long",
        "For your safety a login must finish within a few minutes. We've sent you a fresh "
        "link in Messenger.",
    ),
    FailureReason.STATE_USED: (
        "This login is already finished",
        "This page was opened twice. Nothing changed; go back to the conversation.",
    ),
    FailureReason.BROWSER_MISMATCH: (
        "Please finish in the same browser",
        "The login has to end in the browser where it started. Open the link from the "
        "conversation again and complete it there.",
    ),
    FailureReason.ACCESS_DENIED: (
        "You didn't log in",
        "That's fine: nothing was shared. You can log in later from the conversation.",
    ),
    FailureReason.CODE_MISSING: (
        "Facebook didn't finish the login",
        "Please try again from the conversation.",
    ),
    FailureReason.GRAPH_ERROR: (
        "Facebook didn't answer as expected",
        "Nothing was saved. Please try again in a minute from the conversation.",
    ),
    FailureReason.TOKEN_INVALID: (
        "Facebook didn't accept this login",
        "Nothing was saved. Please try again from the conversation.",
    ),
    FailureReason.WRONG_APP: (
        "This login belongs to another app",
        "Nothing was saved. Please start again from the conversation.",
    ),
    FailureReason.STORAGE_ERROR: (
        "We couldn't save your login",
        "Our side had a problem and nothing was saved. Please try again in a minute.",
    ),
    FailureReason.LOGIN_CANCELLED: (
        "This login was cancelled",
        "You unlinked or logged out while it was in progress, so nothing was saved.",
    ),
    FailureReason.LINK_REDIRECT_INVALID: (
        "This link can't be completed",
        "Linking has to start from the Link button in Messenger. Nothing was shared.",
    ),
}


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    # Pages that carry tickets never leak them through the Referer to other sites.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = page_policy(
        request.app.state.services.settings, scripts=name in _PAGES_WITH_SCRIPTS
    )
    return response


def error_page(
    request: Request, reason: FailureReason, *, back_url: str, status_code: int
) -> HTMLResponse:
    title, message = _ERRORS[reason]
    context = {"title": title, "message": message, "reason": reason.value, "back_url": back_url}
    return render(request, "error.html", context, status_code=status_code)

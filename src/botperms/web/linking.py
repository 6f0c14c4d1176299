"""``/link/start``: where Messenger's ``account_link`` button lands (contract §3)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from botperms.flows import FlowError, LinkAborted, LoginService
from botperms.web.auth import BROWSER_COOKIE, flow_error, services_of, set_browser_cookie


async def link_start(request: Request) -> Response:
    services = services_of(request)
    params = dict(request.query_params.items())
    nonce = request.cookies.get(BROWSER_COOKIE) or LoginService.new_browser_nonce()
    try:
        outcome = await services.linking.begin(
            params, browser_nonce=nonce, user_agent=request.headers.get("user-agent")
        )
    except FlowError as exc:
        # Only a redirect_uri we will not follow ends here: an error page, never a redirect.
        return flow_error(request, exc)
    if isinstance(outcome, LinkAborted):
        # Linking can't go on: Messenger learns it from a redirect without a code.
        response: Response = RedirectResponse(outcome.redirect_url, status_code=302)
    else:
        response = RedirectResponse(outcome.dialog_url, status_code=302)
        set_browser_cookie(services, response, outcome.browser_nonce)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

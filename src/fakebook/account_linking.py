"""Account linking, the person's side (contract §3): the button tap, the redirect target, unlink.

Tapping an `account_link` button mints a linking token and opens the bot's URL with
`account_linking_token` and `redirect_uri` appended. `redirect_uri` is fakebook's own
`/messenger_platform/account_linking/?account_linking_token=T`, like Facebook's. The bot
sends the person back there, with `authorization_code` when linking worked; that page
records the outcome for the person and, with a code, sends the signed `account_linking`
webhook. A token is used up by its first redirect: a second one (say a replayed code)
is ignored. A redirect after the token expired records "expired" and sends nothing.

Routes (the control ones are for tests that drive linking without a browser):

GET  /messenger_platform/account_linking/   the redirect target (an HTML page)
GET  /_fakebook/linking/{psid}              the person's outcomes, newest last
POST /_fakebook/linking/{psid}/token        as if the account_link button was tapped;
                                            {"url"} (optional) is the button's URL
POST /_fakebook/linking/{psid}/unlink       as if the account_unlink button was tapped
                                            (?wait=true answers after the webhook delivery)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakebook.chat import Delivery
from fakebook.linking import LinkingToken
from fakebook.pages import error_page, render
from fakebook.state import State
from fakebook.webhooks import WebhookDeliverer

REDIRECT_PATH = "/messenger_platform/account_linking/"

RedirectResult = Literal["linked", "cancelled", "expired", "used", "unknown"]


@dataclass(frozen=True)
class Completion:
    """What one redirect to the target did."""

    result: RedirectResult
    psid: str | None
    outcome: dict[str, Any] | None
    delivery: Delivery | None


def append_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to whatever query it already has (fragment kept last)."""
    split = urlsplit(url)
    extra = urlencode(params)
    query = f"{split.query}&{extra}" if split.query else extra
    return urlunsplit((split.scheme, split.netloc, split.path, query, split.fragment))


class Linker:
    def __init__(self, state: State, deliverer: WebhookDeliverer) -> None:
        self.state = state
        self.deliverer = deliverer

    def redirect_uri(self, base: str, token: str) -> str:
        return append_query(base.rstrip("/") + REDIRECT_PATH, {"account_linking_token": token})

    def mint(self, psid: str, page_id: str | None = None) -> LinkingToken:
        state = self.state
        ttl = state.config.account_linking_token_ttl
        return state.linking.mint(psid, now=state.now(), ttl=ttl, page_id=page_id)

    def _send(
        self,
        psid: str,
        outcome: dict[str, Any],
        event: dict[str, Any],
        page_id: str | None = None,
    ) -> Delivery:
        delivery = self.deliverer.submit(psid, {"account_linking": event}, page_id)

        def finished(task: Delivery) -> None:
            if task.cancelled():
                outcome["webhook"] = "cancelled"
            elif task.exception() is not None:
                outcome["webhook"] = "error"
            else:
                outcome["webhook"] = task.result()["status"]

        delivery.add_done_callback(finished)
        return delivery

    def complete(self, token: str, authorization_code: str | None) -> Completion:
        """The person arrived at the redirect target (see the module docstring)."""
        state = self.state
        found = state.linking.tokens.get(token)
        if found is None:
            return Completion("unknown", None, None, None)
        if found.used:
            return Completion("used", found.psid, None, None)
        found.used = True
        now = state.now()
        if found.is_expired(now):
            outcome = state.linking.record(
                found.psid,
                "expired",
                now=now,
                via="redirect",
                authorization_code=authorization_code,
            )
            return Completion("expired", found.psid, outcome, None)
        if not authorization_code:
            outcome = state.linking.record(found.psid, "cancelled", now=now, via="redirect")
            return Completion("cancelled", found.psid, outcome, None)
        outcome = state.linking.record(
            found.psid, "linked", now=now, via="redirect", authorization_code=authorization_code
        )
        event = {"status": "linked", "authorization_code": authorization_code}
        delivery = self._send(found.psid, outcome, event, found.page_id)
        return Completion("linked", found.psid, outcome, delivery)

    def unlink(
        self, psid: str, *, via: str, webhook: bool = True, page_id: str | None = None
    ) -> tuple[dict[str, Any], Delivery | None]:
        outcome = self.state.linking.record(psid, "unlinked", now=self.state.now(), via=via)
        if not webhook:
            return outcome, None
        return outcome, self._send(psid, outcome, {"status": "unlinked"}, page_id)


def _state(request: Request) -> State:
    state: State = request.app.state.fakebook
    return state


def _linker(request: Request) -> Linker:
    linker: Linker = request.app.state.linker
    return linker


def www_base(request: Request) -> str:
    """fakebook's own origin, as the person's browser reaches it."""
    return (_state(request).config.public_url or str(request.base_url)).rstrip("/")


_PAGES: dict[str, tuple[str, str]] = {
    "linked": (
        "Your account is linked",
        "{page} now knows your Messenger conversation belongs to your account."
        " Return to the conversation to continue.",
    ),
    "cancelled": (
        "Linking cancelled",
        "Your account was not linked to {page}. Return to the conversation to try again.",
    ),
    "expired": (
        "This link has expired",
        "Linking took longer than Messenger allows. Return to the conversation and tap the"
        " button again.",
    ),
    "used": (
        "Already finished",
        "This linking attempt has already finished. Return to the conversation.",
    ),
}


async def redirect_target(request: Request) -> Response:
    """Where the bot sends the person back; what Messenger shows before closing the webview."""
    token = request.query_params.get("account_linking_token", "")
    code = request.query_params.get("authorization_code") or None
    done = _linker(request).complete(token, code)
    if done.result == "unknown":
        return error_page(
            request,
            "Link not valid",
            "This account linking link is unknown to fakebook. Start again from the conversation.",
        )
    title, message = _PAGES[done.result]
    context = {
        "outcome": done.result,
        "title": title,
        "message": message.format(page=_state(request).config.page_name),
        "psid": done.psid,
    }
    # A replayed redirect is refused visibly, so a script following it notices.
    return render(request, "account_linking.html", context, 400 if done.result == "used" else 200)


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _person_psid(request: Request) -> str | None:
    psid: str = request.path_params["psid"]
    return psid if psid in _state(request).by_psid else None


async def outcomes(request: Request) -> Response:
    psid = _person_psid(request)
    if psid is None:
        return _error(f"no fake person with PSID {request.path_params['psid']}", 404)
    return JSONResponse(_state(request).linking.of(psid))


async def mint_token(request: Request) -> Response:
    psid = _person_psid(request)
    if psid is None:
        return _error(f"no fake person with PSID {request.path_params['psid']}", 404)
    url: str | None = None
    if await request.body():
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error("expected a JSON object body")
        raw = body.get("url")
        if raw is not None and (
            not isinstance(raw, str) or not raw.startswith(("http://", "https://"))
        ):
            return _error("url must be an absolute http(s) URL")
        url = raw
    linker = _linker(request)
    # ?page=: the page whose button was tapped (several pages).
    page = _state(request).config.page(request.query_params.get("page") or None)
    if page is None:
        return _error(f"no fake page {request.query_params.get('page')}", 404)
    token = linker.mint(psid, page.id)
    redirect_uri = linker.redirect_uri(www_base(request), token.token)
    answer: dict[str, Any] = {
        "account_linking_token": token.token,
        "redirect_uri": redirect_uri,
        "expires_at": int(token.expires_at * 1000),
    }
    if url is not None:
        answer["url"] = append_query(
            url, {"account_linking_token": token.token, "redirect_uri": redirect_uri}
        )
    return JSONResponse(answer)


async def unlink_button(request: Request) -> Response:
    psid = _person_psid(request)
    if psid is None:
        return _error(f"no fake person with PSID {request.path_params['psid']}", 404)
    outcome, delivery = _linker(request).unlink(psid, via="button")
    if delivery is not None and request.query_params.get("wait") in ("1", "true", "yes"):
        record = await delivery
        outcome["webhook"] = record["status"]
        return JSONResponse(
            {
                **outcome,
                "webhook_status": record["http_status"],
                "delivery": record["status"],
                "error": record["error"],
            }
        )
    return JSONResponse(outcome, status_code=202)


ROUTES = [
    Route(REDIRECT_PATH, redirect_target),
    Route("/_fakebook/linking/{psid}", outcomes),
    Route("/_fakebook/linking/{psid}/token", mint_token, methods=["POST"]),
    Route("/_fakebook/linking/{psid}/unlink", unlink_button, methods=["POST"]),
]

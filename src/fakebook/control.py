"""The control API under `/_fakebook/`: JSON for tests, the demo and the simulator page.

Not a Facebook API, so errors are plain `{"error": "..."}` with 400/404. Routes:

GET  people                        the seeded people (psid, asid, names, likes_count)
GET  pages                         the app's pages (id, name, username, subscribed_fields)
POST reset                         back to the seed (pending webhook deliveries are cancelled)
GET  conversations/{psid}          the thread, oldest first
GET  chat/{psid}                   the thread plus window and delivery state (the page polls it)
POST chat/{psid}/message           {"text"} or {"quick_reply": {"title", "payload"}}
POST chat/{psid}/postback          {"title", "payload"}
POST chat/{psid}/referral          {"ref"}
       …all three accept ?wait=true to answer after the webhook delivery has finished
GET  sent[?psid=]                  every accepted Send API call
GET  deliveries[?psid=]            the webhook delivery log
POST webhook/verify                run the GET handshake against webhook_url ({"verify_token"} to
                                   override the configured one)
GET|POST|DELETE faults             injected Graph errors (see faults.py)
POST tokens/expire                 {"asid"}: that person's user tokens expire now (190/463)
POST tokens/invalidate             {"asid", "reason": "password_changed"|"app_removed"}
GET  grants/{asid}                 what the person granted/declined to the app
GET  subscription                  {"subscribed": bool, "subscribed_fields": [...]}: the page's
                                   POST subscribed_apps, for tests of a bot's setup

With several pages (`extra_pages`), `?page=PAGE_ID` picks the page of conversations/, chat/…,
subscription (default: the first page) and filters sent and deliveries.

Account linking (linking/…) and the app settings actions (apps/…) have their routes beside
their pages, in account_linking.py and settings_page.py.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakebook.chat import Chat, ChatError, Delivery
from fakebook.config import PageConfig
from fakebook.faults import Fault
from fakebook.state import State
from fakebook.webhooks import WebhookDeliverer


def _state(request: Request) -> State:
    state: State = request.app.state.fakebook
    return state


def _chat(request: Request) -> Chat:
    chat: Chat = request.app.state.chat
    return chat


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _page(request: Request) -> PageConfig:
    """The page ``?page=`` names (the first page without it)."""
    wanted = request.query_params.get("page") or None
    page = _state(request).config.page(wanted)
    if page is None:
        raise ChatError(f"no fake page {wanted}")
    return page


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ChatError("expected a JSON object body")
    return data


async def people(request: Request) -> Response:
    return JSONResponse([person.summary() for person in _state(request).people])


async def reset(request: Request) -> Response:
    deliverer: WebhookDeliverer = request.app.state.deliverer
    deliverer.cancel_all()
    _state(request).reset()
    return JSONResponse({"ok": True})


async def pages(request: Request) -> Response:
    state = _state(request)
    return JSONResponse(
        [
            {
                "id": page.id,
                "name": page.name,
                "username": page.username,
                "subscribed_fields": state.subscriptions.get(page.id),
            }
            for page in state.config.pages
        ]
    )


async def conversation(request: Request) -> Response:
    state = _state(request)
    psid = request.path_params["psid"]
    if psid not in state.by_psid:
        return _error(f"no fake person with PSID {psid}", 404)
    try:
        page = _page(request)
    except ChatError as exc:
        return _error(str(exc), 404)
    return JSONResponse(state.conversation(psid, page.id).entries)


async def chat_state(request: Request) -> Response:
    state = _state(request)
    psid = request.path_params["psid"]
    person = state.by_psid.get(psid)
    if person is None:
        return _error(f"no fake person with PSID {psid}", 404)
    try:
        page = _page(request)
    except ChatError as exc:
        return _error(str(exc), 404)
    thread = state.conversation(psid, page.id)
    closes = thread.window_closes_at(state.config.messaging_window_seconds)
    deliveries = [
        {key: value for key, value in record.items() if key != "body"}
        for record in state.deliveries
        if record["psid"] == psid and record.get("page_id") == page.id
    ]
    return JSONResponse(
        {
            "person": {**person.summary(), "email": person.email},
            "page": {"id": page.id, "name": page.name},
            "entries": thread.entries,
            "window_open": thread.window_open(state.now(), state.config.messaging_window_seconds),
            "window_closes_at": int(closes * 1000) if closes is not None else None,
            "last_delivery": deliveries[-1] if deliveries else None,
            "failed_deliveries": sum(1 for d in deliveries if d["status"] == "failed"),
            # The page's Messenger Profile as this person sees it (greeting, Get Started, menu).
            "profile": state.messenger_profile.display(person),
            # The handover protocol: the bot's app, or the Page Inbox (a person answering).
            "thread_owner": state.threads.owner(page.id, psid),
        }
    )


async def _answer(request: Request, entry: dict[str, Any], delivery: Delivery) -> Response:
    if request.query_params.get("wait") in ("1", "true", "yes"):
        record = await delivery
        return JSONResponse(
            {
                "mid": entry["mid"],
                "webhook_status": record["http_status"],
                "delivery": record["status"],
                "attempts": record["attempts"],
                "error": record["error"],
            }
        )
    return JSONResponse({"mid": entry["mid"]}, status_code=202)


async def send_message(request: Request) -> Response:
    psid = request.path_params["psid"]
    try:
        body = await _json(request)
        quick_reply = body.get("quick_reply")
        page_id = _page(request).id
        if isinstance(quick_reply, dict):
            entry, delivery = _chat(request).message(
                psid,
                str(quick_reply.get("title", "")),
                str(quick_reply.get("payload", "")),
                page_id=page_id,
            )
        else:
            entry, delivery = _chat(request).message(
                psid, str(body.get("text") or ""), page_id=page_id
            )
    except ChatError as exc:
        return _error(str(exc), 404 if "PSID" in str(exc) else 400)
    return await _answer(request, entry, delivery)


async def send_postback(request: Request) -> Response:
    psid = request.path_params["psid"]
    try:
        body = await _json(request)
        entry, delivery = _chat(request).postback(
            psid,
            str(body.get("title") or ""),
            str(body.get("payload") or ""),
            page_id=_page(request).id,
        )
    except ChatError as exc:
        return _error(str(exc), 404 if "PSID" in str(exc) else 400)
    return await _answer(request, entry, delivery)


async def send_referral(request: Request) -> Response:
    psid = request.path_params["psid"]
    try:
        body = await _json(request)
        entry, delivery = _chat(request).referral(
            psid, str(body.get("ref") or ""), page_id=_page(request).id
        )
    except ChatError as exc:
        return _error(str(exc), 404 if "PSID" in str(exc) else 400)
    return await _answer(request, entry, delivery)


def _matching(request: Request, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of ``?psid=`` and ``?page=`` (each filter only when given)."""
    psid = request.query_params.get("psid")
    page = request.query_params.get("page")
    return [
        record
        for record in records
        if (psid is None or record["psid"] == psid)
        and (page is None or record.get("page_id") == page)
    ]


async def sent(request: Request) -> Response:
    return JSONResponse(_matching(request, _state(request).sent))


async def deliveries(request: Request) -> Response:
    return JSONResponse(_matching(request, _state(request).deliveries))


async def verify_webhook(request: Request) -> Response:
    deliverer: WebhookDeliverer = request.app.state.deliverer
    body = await request.body()
    token = None
    if body:
        try:
            token = (await _json(request)).get("verify_token")
        except ChatError as exc:
            return _error(str(exc))
    return JSONResponse(await deliverer.verify(str(token) if token is not None else None))


def _fault_from(body: dict[str, Any]) -> Fault:
    error = body.get("error")
    path = body.get("path_contains")
    if not isinstance(path, str) or not isinstance(error, dict):
        raise ChatError('expected {"path_contains": str, "error": {"code": int, ...}}')
    code = error.get("code")
    times = body.get("times", 1)
    if not isinstance(code, int) or not (times is None or (isinstance(times, int) and times > 0)):
        raise ChatError("error.code must be an integer and times a positive integer or null")
    return Fault(
        path_contains=path,
        method=body.get("method"),
        code=code,
        message=str(error.get("message") or f"(#{code}) Injected error"),
        subcode=error.get("subcode", error.get("error_subcode")),
        http_status=error.get("http_status"),
        type=str(error.get("type") or "OAuthException"),
        remaining=times,
    )


async def faults(request: Request) -> Response:
    state = _state(request)
    if request.method == "DELETE":
        state.faults.clear()
    elif request.method == "POST":
        try:
            state.faults.add(_fault_from(await _json(request)))
        except ChatError as exc:
            return _error(str(exc))
    return JSONResponse([fault.describe() for fault in state.faults.faults])


async def _person_action(request: Request) -> tuple[str, dict[str, Any]] | JSONResponse:
    """The ASID named in the JSON body, and the body; or the error response."""
    try:
        body = await _json(request)
    except ChatError as exc:
        return _error(str(exc))
    asid = str(body.get("asid", ""))
    if asid not in _state(request).by_asid:
        return _error(f"no fake person with ASID {asid!r}", 404)
    return asid, body


async def expire_tokens(request: Request) -> Response:
    found = await _person_action(request)
    if isinstance(found, JSONResponse):
        return found
    state, (asid, _) = _state(request), found
    return JSONResponse({"expired": state.tokens.expire_person(asid, state.now())})


async def invalidate_tokens(request: Request) -> Response:
    found = await _person_action(request)
    if isinstance(found, JSONResponse):
        return found
    state, (asid, body) = _state(request), found
    reason = body.get("reason", "password_changed")
    if reason == "app_removed":
        state.remove_app(asid)
        return JSONResponse({"invalidated": "app_removed"})
    if reason != "password_changed":
        return _error('reason must be "password_changed" or "app_removed"')
    return JSONResponse({"invalidated": state.tokens.invalidate_person(asid, "password_changed")})


async def grants(request: Request) -> Response:
    state = _state(request)
    asid = request.path_params["asid"]
    person = state.by_asid.get(asid)
    if person is None:
        return _error(f"no fake person with ASID {asid}", 404)
    found = state.grants.get(asid)
    described = found.describe() if found is not None else {"granted": [], "declined": []}
    return JSONResponse(
        {"asid": asid, "psid": person.psid, "installed": found is not None, **described}
    )


async def subscription(request: Request) -> Response:
    try:
        page = _page(request)
    except ChatError as exc:
        return _error(str(exc), 404)
    fields = _state(request).subscriptions.get(page.id)
    return JSONResponse({"subscribed": fields is not None, "subscribed_fields": fields or []})


ROUTES = [
    Route("/_fakebook/people", people),
    Route("/_fakebook/pages", pages),
    Route("/_fakebook/reset", reset, methods=["POST"]),
    Route("/_fakebook/conversations/{psid}", conversation),
    Route("/_fakebook/chat/{psid}", chat_state),
    Route("/_fakebook/chat/{psid}/message", send_message, methods=["POST"]),
    Route("/_fakebook/chat/{psid}/postback", send_postback, methods=["POST"]),
    Route("/_fakebook/chat/{psid}/referral", send_referral, methods=["POST"]),
    Route("/_fakebook/sent", sent),
    Route("/_fakebook/deliveries", deliveries),
    Route("/_fakebook/webhook/verify", verify_webhook, methods=["POST"]),
    Route("/_fakebook/faults", faults, methods=["GET", "POST", "DELETE"]),
    Route("/_fakebook/tokens/expire", expire_tokens, methods=["POST"]),
    Route("/_fakebook/tokens/invalidate", invalidate_tokens, methods=["POST"]),
    Route("/_fakebook/grants/{asid}", grants),
    Route("/_fakebook/subscription", subscription),
]

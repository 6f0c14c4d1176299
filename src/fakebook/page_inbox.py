"""The Page Inbox: the second app on the page, where a person of the Page answers by hand.

The chat simulator shows "a person is answering" while the Page Inbox owns a thread; this
module is what that person does there: reply, hand the thread back to the bot, or ask the bot
for a thread it holds. Each is a control-API route the simulator (and tests) call:

* `POST /_fakebook/chat/{psid}/inbox/reply` `{"text": ...}`: a message from the Page Inbox
  (only while it owns the thread); the bot gets its echo in `standby[]`.
* `POST /_fakebook/chat/{psid}/inbox/hand_back` `{"metadata": ...}`: the Page Inbox passes
  the thread to the bot, which gets `pass_thread_control` in `messaging[]`.
* `POST /_fakebook/chat/{psid}/inbox/request` `{"metadata": ...}`: the Page Inbox asks the
  bot (the primary receiver) for the thread: `request_thread_control`.
* `GET /_fakebook/threads/{psid}`: the thread's owner and the handover log.

All take `?page=` (the first page without it) and `?wait=1` (answer after the webhook).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakebook.chat import ChatError
from fakebook.conversations import new_mid
from fakebook.errors import GraphError
from fakebook.handover import PAGE_INBOX_APP_ID, PAGE_INBOX_NAME
from fakebook.state import State
from fakebook.webhooks import WebhookDeliverer


def _context(request: Request) -> tuple[State, WebhookDeliverer, str, str]:
    state: State = request.app.state.fakebook
    deliverer: WebhookDeliverer = request.app.state.deliverer
    psid = request.path_params["psid"]
    if psid not in state.by_psid:
        raise ChatError(f"no fake person with PSID {psid}")
    page = state.config.page(request.query_params.get("page") or None)
    if page is None:
        raise ChatError(f"no fake page {request.query_params.get('page')}")
    return state, deliverer, psid, page.id


async def _body(request: Request) -> dict[str, Any]:
    if not await request.body():
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise ChatError("expected a JSON object body")
    return data


def _note(state: State, psid: str, page_id: str, action: str, body: dict[str, Any]) -> None:
    state.conversation(psid, page_id).entries.append(
        {"direction": "handover", "action": action, "time": int(state.now() * 1000), **body}
    )


async def _delivered(request: Request, task: Any, extra: dict[str, Any]) -> Response:
    if request.query_params.get("wait") in ("1", "true", "yes"):
        record = await task
        extra = {**extra, "delivery": record["status"], "webhook_status": record["http_status"]}
    return JSONResponse(extra)


async def reply(request: Request) -> Response:
    try:
        state, deliverer, psid, page_id = _context(request)
        text = str((await _body(request)).get("text") or "").strip()
        if not text:
            raise ChatError("a reply needs text")
        if state.threads.owner(page_id, psid) != PAGE_INBOX_APP_ID:
            raise ChatError("the Page Inbox does not own this thread: the bot does")
    except (ChatError, ValueError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    mid = new_mid()
    entry = {
        "direction": "out",
        "from": "page_inbox",
        "mid": mid,
        "time": int(state.now() * 1000),
        "messaging_type": "RESPONSE",
        "message": {"text": text},
    }
    state.conversation(psid, page_id).entries.append(entry)
    echo = {"is_echo": True, "app_id": int(PAGE_INBOX_APP_ID), "mid": mid, "text": text}
    task = deliverer.submit(psid, {"message": echo}, page_id)
    return await _delivered(request, task, {"mid": mid})


async def hand_back(request: Request) -> Response:
    try:
        state, deliverer, psid, page_id = _context(request)
        metadata = (await _body(request)).get("metadata")
        body = state.threads.pass_control(
            page_id,
            psid,
            by=PAGE_INBOX_APP_ID,
            target=state.config.app_id,
            metadata=metadata if isinstance(metadata, str) else None,
        )
    except (ChatError, ValueError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    except GraphError as exc:
        return JSONResponse({"error": exc.message}, status_code=409)
    _note(state, psid, page_id, "pass_thread_control", body)
    task = deliverer.submit(psid, {"pass_thread_control": body}, page_id)
    return await _delivered(request, task, {"owner": state.config.app_id})


async def request_thread(request: Request) -> Response:
    try:
        state, deliverer, psid, page_id = _context(request)
        metadata = (await _body(request)).get("metadata")
        body = state.threads.request_control(
            page_id,
            psid,
            by=PAGE_INBOX_APP_ID,
            metadata=metadata if isinstance(metadata, str) else None,
        )
    except (ChatError, ValueError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    except GraphError as exc:
        return JSONResponse({"error": exc.message}, status_code=409)
    _note(state, psid, page_id, "request_thread_control", body)
    task = deliverer.submit(psid, {"request_thread_control": body}, page_id)
    return await _delivered(request, task, {"requested": True})


async def thread(request: Request) -> Response:
    try:
        state, _deliverer, psid, page_id = _context(request)
    except ChatError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    owner = state.threads.owner(page_id, psid)
    log = [e for e in state.threads.log if e["psid"] == psid and e["page_id"] == page_id]
    name = PAGE_INBOX_NAME if owner == PAGE_INBOX_APP_ID else "the bot"
    return JSONResponse({"owner": owner, "owner_name": name, "log": log})


ROUTES = [
    Route("/_fakebook/chat/{psid}/inbox/reply", reply, methods=["POST"]),
    Route("/_fakebook/chat/{psid}/inbox/hand_back", hand_back, methods=["POST"]),
    Route("/_fakebook/chat/{psid}/inbox/request", request_thread, methods=["POST"]),
    Route("/_fakebook/threads/{psid}", thread),
]

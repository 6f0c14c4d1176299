"""The handover API's Graph side (contract §1.4), called by the bot's app with its page token.

* `POST me/pass_thread_control` `{"recipient":{"id":PSID},"target_app_id":ID,"metadata":...}`
* `POST me/take_thread_control` and `POST me/request_thread_control`
  `{"recipient":{"id":PSID},"metadata":...}` → `{"success": true}`
* `GET me/thread_owner?recipient=PSID` → `{"data":[{"thread_owner":{"app_id":"..."}}]}`
* `GET me/secondary_receivers?fields=id,name` → the Page Inbox.

The thread moves at once; each call is written in the conversation as a `handover` entry, so
the chat simulator shows who is answering.
"""

from __future__ import annotations

from typing import Any

from fakebook.graph.base import Endpoint, GraphRequest
from fakebook.graph.send import no_matching_user
from fakebook.handover import PAGE_INBOX_APP_ID, PAGE_INBOX_NAME


def _psid(req: GraphRequest) -> str:
    raw = req.params.get("recipient")
    # POSTs carry {"recipient": {"id": PSID}}; GET thread_owner carries ?recipient=PSID.
    if isinstance(raw, str) and raw.isdigit():
        psid: str | None = raw
    else:
        recipient = req.json_object("recipient")
        psid = str(recipient.get("id") or "") if recipient is not None else None
    if not psid or psid not in req.state.by_psid:
        raise no_matching_user()
    return psid


def _note(req: GraphRequest, psid: str, action: str, body: dict[str, Any]) -> None:
    req.state.conversation(psid, req.page.id).entries.append(
        {"direction": "handover", "action": action, "time": int(req.state.now() * 1000), **body}
    )


async def pass_thread_control(req: GraphRequest) -> dict[str, Any]:
    req.require_page()
    psid = _psid(req)
    target = req.text("target_app_id", required=True) or ""
    body = req.state.threads.pass_control(
        req.page.id, psid, by=req.config.app_id, target=target, metadata=req.text("metadata")
    )
    _note(req, psid, "pass_thread_control", body)
    return {"success": True}


async def take_thread_control(req: GraphRequest) -> dict[str, Any]:
    req.require_page()
    psid = _psid(req)
    body = req.state.threads.take_control(
        req.page.id, psid, by=req.config.app_id, metadata=req.text("metadata")
    )
    _note(req, psid, "take_thread_control", body)
    return {"success": True}


async def request_thread_control(req: GraphRequest) -> dict[str, Any]:
    req.require_page()
    psid = _psid(req)
    body = req.state.threads.request_control(
        req.page.id, psid, by=req.config.app_id, metadata=req.text("metadata")
    )
    _note(req, psid, "request_thread_control", body)
    return {"success": True}


async def thread_owner(req: GraphRequest) -> dict[str, Any]:
    req.require_page()
    psid = _psid(req)
    owner = req.state.threads.owner(req.page.id, psid)
    return {"data": [{"thread_owner": {"app_id": owner}}]}


async def secondary_receivers(req: GraphRequest) -> dict[str, Any]:
    req.require_page()
    row = {"id": PAGE_INBOX_APP_ID, "name": PAGE_INBOX_NAME}
    fields = req.fields(("id",))
    return {"data": [{key: value for key, value in row.items() if key in fields or key == "id"}]}


ENDPOINTS = (
    Endpoint.of("POST", r"me/pass_thread_control", pass_thread_control),
    Endpoint.of("POST", r"me/take_thread_control", take_thread_control),
    Endpoint.of("POST", r"me/request_thread_control", request_thread_control),
    Endpoint.of("GET", r"me/thread_owner", thread_owner),
    Endpoint.of("GET", r"me/secondary_receivers", secondary_receivers),
)

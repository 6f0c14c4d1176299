"""The handover protocol's Graph calls (platform contract §1.4): pass, take and request
thread control, and who owns a thread.

The three POSTs are queued in the outbox like messages (so they commit with the event that
decided them and keep their place among its replies): their outbox payload is
``{"thread_control": {...}}``, built by :func:`thread_control` and sent by
:func:`send_thread_control`.
"""

from __future__ import annotations

from typing import Any, Literal, TypeGuard

from botperms.graph.client import GraphClient

HandoverAction = Literal["pass_thread_control", "take_thread_control", "request_thread_control"]
HANDOVER_ACTIONS: frozenset[str] = frozenset(
    {"pass_thread_control", "take_thread_control", "request_thread_control"}
)
THREAD_CONTROL = "thread_control"  # the outbox payload's key for a handover call
PAGE_INBOX_APP_ID = "263902037430900"
METADATA_MAX = 1000


def is_handover_action(value: object) -> TypeGuard[HandoverAction]:
    return isinstance(value, str) and value in HANDOVER_ACTIONS


def thread_control(
    action: HandoverAction, *, target_app_id: str | None = None, metadata: str | None = None
) -> dict[str, Any]:
    """The outbox payload for one handover call. Checked here, where the handler calls it,
    rather than when the outbox sends it (a dead letter would say it too late)."""
    if not is_handover_action(action):
        raise ValueError(f"{action!r} is not a handover call")
    if (action == "pass_thread_control") != (target_app_id is not None):
        raise ValueError("target_app_id goes with pass_thread_control, and only with it")
    if target_app_id is not None and not str(target_app_id).isdigit():
        raise ValueError(f"target_app_id {target_app_id!r} is not an app id")
    if metadata is not None and len(metadata) > METADATA_MAX:
        raise ValueError(f"handover metadata is limited to {METADATA_MAX} characters")
    call: dict[str, Any] = {"action": action}
    if target_app_id is not None:
        call["target_app_id"] = str(target_app_id)
    if metadata is not None:
        call["metadata"] = metadata
    return {THREAD_CONTROL: call}


async def send_thread_control(
    graph: GraphClient, page_token: str, psid: str, call: dict[str, Any]
) -> None:
    """POST ``/me/{action}`` for ``psid`` (``call`` as :func:`thread_control` built it).

    Not retried after an ambiguous failure: passing a thread twice is refused by Facebook
    (the second time this app no longer owns it), and the outbox decides what a failure means.
    """
    action = call.get("action")
    if not is_handover_action(action):
        raise ValueError(f"{action!r} is not a handover call")
    if not psid:
        raise ValueError("psid must not be empty")
    body: dict[str, Any] = {"recipient": {"id": psid}}
    if action == "pass_thread_control":
        body["target_app_id"] = int(call["target_app_id"])
    if call.get("metadata") is not None:
        body["metadata"] = call["metadata"]
    await graph.request("POST", f"/me/{action}", access_token=page_token, json=body)


async def thread_owner(graph: GraphClient, page_token: str, psid: str) -> str | None:
    """The app id that owns ``psid``'s thread (``GET /me/thread_owner``), None if unsaid."""
    data = await graph.request(
        "GET", "/me/thread_owner", access_token=page_token, params={"recipient": psid}
    )
    rows = data.get("data") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        return None
    owner = rows[0].get("thread_owner")
    app_id = owner.get("app_id") if isinstance(owner, dict) else None
    return str(app_id) if app_id is not None else None

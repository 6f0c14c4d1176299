"""The Send API: `POST /{v}/me/messages` and `/{v}/{page_id}/messages` (contract §2).

Accepted sends are recorded in the conversation (so the simulator shows them) and in the
sent log of the control API. `sender_action` answers with `recipient_id` only, as Facebook does.
"""

from __future__ import annotations

from typing import Any

from fakebook.errors import GraphError, invalid_param
from fakebook.graph.base import Endpoint, GraphRequest
from fakebook.graph.message_rules import check_message

MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
TAGS = ("CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")
NOTIFICATION_TYPES = ("REGULAR", "SILENT_PUSH", "NO_PUSH")
RECIPIENT_KEYS = ("id", "user_ref", "phone_number", "post_id", "comment_id")
SUBCODE_NO_USER = 2018001
SUBCODE_OUTSIDE_WINDOW = 2018278


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise invalid_param(f'Param {name} must be one of {{{", ".join(allowed)}}} - got "{value}"')


def no_matching_user() -> GraphError:
    return invalid_param("No matching user found", subcode=SUBCODE_NO_USER)


def outside_window() -> GraphError:
    return GraphError(
        "(#10) This message is sent outside of allowed window. Learn more about the new policy"
        " here: https://developers.facebook.com/docs/messenger-platform/policy-overview",
        code=10,
        subcode=SUBCODE_OUTSIDE_WINDOW,
    )


def _recipient_psid(req: GraphRequest) -> str:
    recipient = req.json_object("recipient")
    if recipient is None:
        raise invalid_param("param recipient must be non-empty.")
    keys = [key for key in RECIPIENT_KEYS if key in recipient]
    if len(keys) != 1:
        raise invalid_param(f"param recipient must have exactly one of {', '.join(RECIPIENT_KEYS)}")
    # fakebook knows people only by PSID; an ASID, user_ref or phone number matches nobody,
    # which is also what Facebook answers for an ASID (contract §2.1).
    psid = str(recipient.get("id", ""))
    if psid not in req.state.by_psid:
        raise no_matching_user()
    return psid


def _check_window(req: GraphRequest, psid: str, messaging_type: str, tag: str | None) -> None:
    config = req.config
    conversation = req.state.conversation(psid, req.page.id)
    now = req.state.now()
    if messaging_type != "MESSAGE_TAG":
        window = config.messaging_window_seconds
    elif tag == "HUMAN_AGENT":
        window = config.human_agent_window_seconds
    else:
        # Other tags work outside the window, but only in a thread the person started.
        window = 10**12
    if not conversation.window_open(now, window):
        raise outside_window()


async def send_message(req: GraphRequest) -> dict[str, Any]:
    req.require_page()
    page_id = req.match.get("page_id")
    if page_id is not None and page_id != req.page.id:
        raise invalid_param(
            f"Unsupported post request. Object with ID '{page_id}' does not exist, cannot be"
            " loaded due to missing permissions, or does not support this operation.",
            subcode=33,
        )
    psid = _recipient_psid(req)
    sender_action = req.text("sender_action")
    message = req.json_object("message")
    notification_type = req.text("notification_type")
    if notification_type is not None:
        _one_of("notification_type", notification_type, NOTIFICATION_TYPES)
    state = req.state
    conversation = state.conversation(psid, req.page.id)
    if sender_action is not None:
        if message is not None:
            raise invalid_param("param sender_action cannot be sent together with message.")
        _one_of("sender_action", sender_action, SENDER_ACTIONS)
        _check_window(req, psid, "RESPONSE", None)
        entry = conversation.add_outgoing(
            now=state.now(), messaging_type=None, sender_action=sender_action
        )
        state.sent.append({"psid": psid, "message_id": None, **_log(req, entry)})
        return {"recipient_id": psid}
    if message is None:
        raise invalid_param("param message must be non-empty.")
    messaging_type = req.text("messaging_type")
    if messaging_type is None:
        raise invalid_param("param messaging_type must be non-empty.")
    _one_of("messaging_type", messaging_type, MESSAGING_TYPES)
    tag = req.text("tag")
    if messaging_type == "MESSAGE_TAG":
        if tag is None:
            raise invalid_param("param tag must be non-empty when messaging_type is MESSAGE_TAG.")
        _one_of("tag", tag, TAGS)
    check_message(message)
    _check_window(req, psid, messaging_type, tag)
    entry = conversation.add_outgoing(
        now=state.now(), messaging_type=messaging_type, message=message, tag=tag
    )
    state.sent.append({"psid": psid, "message_id": entry["mid"], **_log(req, entry)})
    return {"recipient_id": psid, "message_id": entry["mid"]}


def _log(req: GraphRequest, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": entry["time"],
        "page_id": req.page.id,
        "path": req.request.url.path,
        "messaging_type": entry.get("messaging_type"),
        "tag": entry.get("tag"),
        "message": entry.get("message"),
        "sender_action": entry.get("sender_action"),
        "notification_type": req.params.get("notification_type"),
    }


ENDPOINTS = (
    Endpoint.of("POST", r"me/messages", send_message),
    Endpoint.of("POST", r"(?P<page_id>\d+)/messages", send_message),
)

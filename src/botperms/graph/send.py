"""Send API calls: messages and sender actions to one person (PSID) from a Page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from botperms.graph.client import GraphClient, HeadersHook

SenderAction = Literal["typing_on", "typing_off", "mark_seen"]

MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})
MESSAGE_TAGS = frozenset(
    {"CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT"}
)
NOTIFICATION_TYPES = frozenset({"REGULAR", "SILENT_PUSH", "NO_PUSH"})
SENDER_ACTIONS: frozenset[str] = frozenset({"typing_on", "typing_off", "mark_seen"})
SEND_PATH = "/me/messages"


@dataclass(frozen=True)
class SendResult:
    """What the Send API answered; ``recipient_id`` is absent for user_ref/phone recipients."""

    recipient_id: str | None
    message_id: str | None


def _check_send_options(
    messaging_type: str, tag: str | None, notification_type: str | None
) -> None:
    # Checked here, before the network, because Facebook's answer to a bad combination is a
    # generic code-100 error that does not say which argument was wrong.
    if messaging_type not in MESSAGING_TYPES:
        raise ValueError(
            f"messaging_type {messaging_type!r} is not one of {', '.join(sorted(MESSAGING_TYPES))}"
        )
    if messaging_type == "MESSAGE_TAG":
        if tag is None:
            raise ValueError("messaging_type MESSAGE_TAG needs a tag")
        if tag not in MESSAGE_TAGS:
            raise ValueError(f"tag {tag!r} is not one of {', '.join(sorted(MESSAGE_TAGS))}")
    elif tag is not None:
        raise ValueError(
            f"a tag is only sent with messaging_type MESSAGE_TAG, not {messaging_type}"
        )
    if notification_type is not None and notification_type not in NOTIFICATION_TYPES:
        raise ValueError(
            f"notification_type {notification_type!r} is not one of "
            f"{', '.join(sorted(NOTIFICATION_TYPES))}"
        )


def _optional_str(value: object) -> str | None:
    if value is None:
        return None
    return str(value)


async def send_message(
    graph: GraphClient,
    page_token: str,
    psid: str,
    message: dict[str, Any],
    *,
    messaging_type: str = "RESPONSE",
    tag: str | None = None,
    notification_type: str | None = None,
    on_headers: HeadersHook | None = None,
) -> SendResult:
    """POST one message (built with :mod:`botperms.messenger.builders`) to a PSID.

    Not retried after an ambiguous failure (see :meth:`GraphClient.request`): the error then has
    ``ambiguous=True`` and the outbox decides whether a possible duplicate is acceptable.
    """
    if not psid:
        raise ValueError("psid must not be empty")
    _check_send_options(messaging_type, tag, notification_type)
    body: dict[str, Any] = {
        "recipient": {"id": psid},
        "messaging_type": messaging_type,
        "message": message,
    }
    if tag is not None:
        body["tag"] = tag
    if notification_type is not None:
        body["notification_type"] = notification_type
    data = await graph.request(
        "POST", SEND_PATH, access_token=page_token, json=body, on_headers=on_headers
    )
    if not isinstance(data, dict):
        return SendResult(recipient_id=None, message_id=None)
    return SendResult(
        recipient_id=_optional_str(data.get("recipient_id")),
        message_id=_optional_str(data.get("message_id")),
    )


def is_sender_action(value: object) -> TypeGuard[SenderAction]:
    """Whether ``value`` names a sender action the Send API knows."""
    return isinstance(value, str) and value in SENDER_ACTIONS


async def send_action(
    graph: GraphClient,
    page_token: str,
    psid: str,
    action: SenderAction,
    *,
    on_headers: HeadersHook | None = None,
) -> None:
    """Show typing on/off or mark the conversation seen. Sent with ``recipient`` only."""
    if not is_sender_action(action):
        raise ValueError(
            f"sender action {action!r} is not one of {', '.join(sorted(SENDER_ACTIONS))}"
        )
    if not psid:
        raise ValueError("psid must not be empty")
    # A sender action repeated after a timeout is harmless, so it may be retried like a read.
    await graph.request(
        "POST",
        SEND_PATH,
        access_token=page_token,
        json={"recipient": {"id": psid}, "sender_action": action},
        idempotent=True,
        on_headers=on_headers,
    )

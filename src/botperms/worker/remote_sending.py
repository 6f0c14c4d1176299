"""The sends of ``serve --processes 2``: the handler half claims and records them, the web half
makes the Send API calls.

The handler half's event loop was the pair's bottleneck, and a third of its CPU went to the
Send API calls (building, signing and parsing them), while the web half idled at a third of a
core. So the outbox stays in the handler half, with its claims and its records in the one
writer's transactions, and only the call itself crosses the relay: :class:`RemoteSender` asks,
:func:`answer_sends` answers with the web half's own :class:`Sender`. A call whose answer is
lost with the link is the crash window's kind of send: it stays "sending" and the handler
half's restart resends it (docs/concepts.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from botperms.store import OutboxItem, SendOutcome
from botperms.worker.page_backoff import PageBackoff
from botperms.worker.sending import Sender, SendFateUnknown

Ask = Callable[[list[Any]], Awaitable[list[Any]]]


def item_to_wire(item: OutboxItem) -> list[Any]:
    return [
        item.id,
        item.page_id,
        item.psid,
        item.payload,
        item.messaging_type,
        item.tag,
        item.attempts,
    ]


def item_from_wire(body: list[Any]) -> OutboxItem:
    item_id, page_id, psid, payload, messaging_type, tag, attempts = body
    if not isinstance(payload, dict):
        raise ValueError("a message's payload is not a JSON object")
    return OutboxItem(
        id=int(item_id),
        page_id=str(page_id),
        psid=str(psid),
        payload=payload,
        messaging_type=str(messaging_type),
        tag=None if tag is None else str(tag),
        attempts=int(attempts),
    )


def outcome_to_wire(outcome: SendOutcome) -> list[Any]:
    when = outcome.next_attempt_at
    return [
        outcome.item_id,
        outcome.status,
        outcome.message_id,
        outcome.error,
        None if when is None else when.isoformat(),
    ]


def outcome_from_wire(body: list[Any]) -> SendOutcome:
    item_id, status, message_id, error, when = body
    return SendOutcome(
        int(item_id),
        str(status),
        message_id=message_id,
        error=error,
        next_attempt_at=None if when is None else datetime.fromisoformat(when),
    )


class RemoteSender:
    """The handler half's sender: the same tries, made by the web half."""

    def __init__(self, ask: Ask, backoff: PageBackoff) -> None:
        """``backoff``: the pauses of rate-limited pages, which the web half's sender writes
        to the store and the outbox here reads back."""
        self._ask = ask
        self.backoff = backoff

    async def attempt(self, item: OutboxItem) -> SendOutcome:
        try:
            answer = await self._ask(["send", *item_to_wire(item)])
        except ConnectionError as exc:
            raise SendFateUnknown(f"the web process hung up during the send ({exc})") from None
        if answer and answer[0] == "error":
            raise RuntimeError(f"the web process failed the send: {answer[1]}")
        return outcome_from_wire(answer)


def answer_sends(sender: Sender) -> Ask:
    """The web half's answer to the handler half's questions: one try of one message."""

    async def answer(body: list[Any]) -> list[Any]:
        if not body or body[0] != "send":
            raise ValueError(f"not a question this web process answers: {body[:1]!r}")
        outcome = await sender.attempt(item_from_wire(body[1:]))
        return outcome_to_wire(outcome)

    return answer

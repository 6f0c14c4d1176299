"""The relay's wire format: one JSON document a line, each way.

Web → handlers: ``{"id": n, "add": [item, ...]}`` (store these events, then answer) and
``{"wake": true}`` (something was queued directly in the database: look now). Handlers → web:
``{"id": n}`` once the events have committed, or ``{"id": n, "error": "..."}``.

The other way round, the handler half asks the web half to do something (a Send API call)
with ``{"ask": n, "body": [...]}``, answered by ``{"told": n, "body": [...]}``, and sends its
counters every second as ``{"report": [...]}`` (the web half's ``/metrics`` adds them).

JSON escapes every newline inside strings, so a line is always one whole frame.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botperms.store import NewInboxItem

# A frame holds at most one delivery: the webhook's body limit bounds it, with room for the
# escapes that JSON adds when it writes the events again.
MAX_FRAME = 8 * 1024 * 1024


class BadFrame(ValueError):
    """A line that is not a frame of this protocol."""


def _line(frame: dict[str, Any]) -> bytes:
    return json.dumps(frame, separators=(",", ":")).encode() + b"\n"


def _item(item: NewInboxItem) -> list[Any]:
    return [
        item.event_key,
        item.page_id,
        item.psid,
        item.kind,
        item.payload,
        item.event_time,
        item.standby,
    ]


def add_frame(frame_id: int, items: Sequence[NewInboxItem]) -> bytes:
    return _line({"id": frame_id, "add": [_item(item) for item in items]})


WAKE_FRAME = _line({"wake": True})


def answer_frame(frame_id: int, error: str | None = None) -> bytes:
    return _line({"id": frame_id} if error is None else {"id": frame_id, "error": error})


def ask_frame(ask_id: int, body: list[Any]) -> bytes:
    return _line({"ask": ask_id, "body": body})


def told_frame(ask_id: int, body: list[Any]) -> bytes:
    return _line({"told": ask_id, "body": body})


def report_frame(body: list[Any]) -> bytes:
    return _line({"report": body})


def read_frame(line: bytes) -> dict[str, Any]:
    try:
        frame = json.loads(line)
    except ValueError as exc:
        raise BadFrame(f"not JSON: {exc}") from None
    if not isinstance(frame, dict):
        raise BadFrame("not a JSON object")
    return frame


def items_of(frame: dict[str, Any]) -> list[NewInboxItem]:
    try:
        items = [
            NewInboxItem(
                event_key=str(key),
                page_id=str(page_id),
                psid=None if psid is None else str(psid),
                kind=str(kind),
                payload=payload,
                event_time=int(event_time),
                standby=bool(standby),
            )
            for key, page_id, psid, kind, payload, event_time, standby in frame["add"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise BadFrame(f"not a list of events: {exc}") from None
    if not all(isinstance(item.payload, dict) for item in items):
        raise BadFrame("an event's payload is not a JSON object")
    return items

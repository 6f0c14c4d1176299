"""Reading a webhook delivery into storable events, without ever refusing what Facebook sends.

The webhook acknowledges a delivery once its events are stored, so this runs on the path
Facebook waits on: it works on the decoded dicts (no model validation; the worker types each
event later) and it cannot fail on an event. Only a body that is not JSON, or not an
``{"object": "page", "entry": [...]}`` envelope, is refused (:class:`InvalidPayload`). Anything
odd inside it is kept: an event that is not an object, an unknown kind, a missing sender, ids
too long to be real. Hostile shapes (nesting past :data:`MAX_DEPTH`, NaN) are refused whole.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from botperms.config import INTERNAL_FIELD
from botperms.messenger.events import EVENT_KINDS, InvalidPayload, check_page_envelope

# No real delivery nests deeper than about 8; this leaves room for unknown fields while keeping
# pathological bodies (and recursion in later JSON handling) out.
MAX_DEPTH = 64
# Column sizes in the store: longer ids cannot be real, and would not fit.
MAX_ID_LENGTH = 64
MAX_MID_LENGTH = 200
INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """One event of a delivery, ready for the inbox. ``payload`` is the raw event (a dict)."""

    page_id: str
    psid: str | None
    kind: str
    key: str
    event_time: int
    standby: bool
    payload: dict[str, Any]


def _no_constants(name: str) -> Any:
    raise InvalidPayload(f"body holds {name}, which is not JSON")


def decode_body(body: bytes) -> Any:
    """``json.loads`` that refuses NaN/Infinity and pathological nesting as InvalidPayload."""
    try:
        return json.loads(body, parse_constant=_no_constants)
    except RecursionError:
        raise InvalidPayload(f"body nests deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidPayload("body is not valid JSON") from None


def _clean_text(value: str) -> str:
    # Lone surrogates (from "\ud800" escapes) cannot be stored as UTF-8 and PostgreSQL refuses
    # them in JSON; NUL is refused in text columns. Replace both, keep the rest.
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def sanitize(value: Any) -> Any:
    """A copy of decoded JSON that any backend can store; InvalidPayload past MAX_DEPTH."""
    return _sanitize(value, 0)


def needs_sanitizing(body: bytes) -> bool:
    """Whether `sanitize` could change or refuse what ``body`` decodes to. A NUL can only
    come from a ``\\u0000`` escape (JSON has no raw control characters in strings), and no
    value can nest deeper than the body has brackets. Most deliveries have neither, and the
    walk over every value was a fifth of the webhook's own time (docs/performance.md)."""
    return b"\\u0000" in body or body.count(b"{") + body.count(b"[") > MAX_DEPTH


def _sanitize(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise InvalidPayload(f"body nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {_clean_text(str(k)): _sanitize(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_sanitize(item, depth + 1) for item in value]
    return value


def _id(value: Any, limit: int = MAX_ID_LENGTH) -> str | None:
    """An id as a string (Facebook documents strings, some tools send numbers), or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str):
        text = str(value)
        if 0 < len(text) <= limit and text.isprintable():
            return text
    return None


def _party(event: dict[str, Any], name: str) -> dict[str, Any]:
    party = event.get(name)
    return party if isinstance(party, dict) else {}


def event_kind(event: dict[str, Any]) -> str:
    message = event.get("message")
    if isinstance(message, dict):
        return "echo" if message.get("is_echo") is True else "message"
    for name in EVENT_KINDS[1:]:
        if event.get(name) is not None:
            return name
    return "unknown"


def content_key(event: Any) -> str:
    """A dedupe key from the content itself, for events without a message id: Facebook
    resends identical bodies."""
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _mid(event: dict[str, Any], kind: str) -> str | None:
    body = event.get("postback") if kind == "postback" else event.get("message")
    if kind in ("message", "echo", "postback") and isinstance(body, dict):
        mid = body.get("mid")
        if isinstance(mid, str | int) and not isinstance(mid, bool):
            return str(mid)
    return None


def read_event(raw: Any, entry_page_id: str | None, *, standby: bool, now_ms: int) -> IncomingEvent:
    """One item of ``messaging[]``/``standby[]``, whatever its shape."""
    if not isinstance(raw, dict):
        return IncomingEvent(
            entry_page_id or "", None, "unknown", content_key(raw), now_ms, standby, {"raw": raw}
        )
    event = {k: v for k, v in raw.items() if k != INTERNAL_FIELD}
    kind = event_kind(event)
    sender, recipient = (
        _id(_party(event, "sender").get("id")),
        _id(_party(event, "recipient").get("id")),
    )
    # On an echo the Page is the sender and the person the recipient.
    page_id, psid = (sender, recipient) if kind == "echo" else (recipient, sender)
    page_id = page_id or entry_page_id or ""
    mid = _mid(event, kind)
    usable = mid is not None and len(mid) <= MAX_MID_LENGTH
    key = f"mid:{mid}" if usable else content_key(event)
    timestamp = event.get("timestamp")
    event_time = now_ms  # a missing, odd or out-of-range timestamp: when it arrived
    if (
        isinstance(timestamp, int)
        and not isinstance(timestamp, bool)
        and 0 <= timestamp <= INT64_MAX
    ):
        event_time = timestamp
    return IncomingEvent(page_id, psid, kind, key, event_time, standby, event)


def read_delivery(body: bytes) -> list[IncomingEvent]:
    """Every event of a signed delivery body, oldest first within the delivery."""
    data = decode_body(body)
    check_page_envelope(data)
    if needs_sanitizing(body):
        data = sanitize(data)
    now_ms = int(time.time() * 1000)
    events: list[IncomingEvent] = []
    for entry in data["entry"]:
        if not isinstance(entry, dict):
            events.append(read_event(entry, None, standby=False, now_ms=now_ms))
            continue
        page_id = _id(entry.get("id"))
        for name, standby in (("messaging", False), ("standby", True)):
            items = entry.get(name)
            if items is None:
                continue
            if not isinstance(items, list):
                items = [items]  # kept as an (unknown) event rather than dropped
            for raw in items:
                events.append(read_event(raw, page_id, standby=standby, now_ms=now_ms))
    events.sort(key=lambda event: event.event_time)
    return events

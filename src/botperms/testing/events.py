"""Webhook bodies as Facebook sends them (platform contract §1.3–1.4), for the tester."""

from __future__ import annotations

import itertools
import time
from typing import Any

_mids = itertools.count(1)


def now_ms() -> int:
    return int(time.time() * 1000)


def new_mid() -> str:
    return f"m_test{next(_mids)}"


def event(page_id: str, psid: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """One ``messaging[]`` item from ``psid`` to the page (no sender when ``psid`` is None)."""
    item: dict[str, Any] = {"recipient": {"id": page_id}, "timestamp": now_ms(), **body}
    if psid is not None:
        item["sender"] = {"id": psid}
    return item


def message(text: str, *, quick_reply: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"mid": new_mid(), "text": text}
    if quick_reply is not None:
        body["quick_reply"] = {"payload": quick_reply}
    return {"message": body}


def postback(payload: str, title: str) -> dict[str, Any]:
    return {"postback": {"mid": new_mid(), "title": title, "payload": payload}}


def delivery(page_id: str, items: list[dict[str, Any]], *, standby: bool) -> dict[str, Any]:
    """The delivery envelope: the events in ``standby[]`` while another app owns the thread."""
    entry = {"id": page_id, "time": now_ms(), "standby" if standby else "messaging": items}
    return {"object": "page", "entry": [entry]}

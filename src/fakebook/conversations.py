"""One Messenger thread per (page, person): what was said, and the 24-hour window.

Entries are plain JSON-ready dicts because the control API and the simulator page serve them
as they are. Times are epoch milliseconds, the unit webhooks use.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any


def new_mid() -> str:
    return "m_" + secrets.token_urlsafe(30)


@dataclass
class Conversation:
    psid: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    # Epoch seconds of the person's last message, postback or referral: the window opener.
    last_user_activity: float | None = None

    def window_open(self, now: float, window_seconds: int) -> bool:
        last = self.last_user_activity
        return last is not None and now - last < window_seconds

    def window_closes_at(self, window_seconds: int) -> float | None:
        if self.last_user_activity is None:
            return None
        return self.last_user_activity + window_seconds

    def add_incoming(self, event: dict[str, Any], *, now: float) -> dict[str, Any]:
        """Record what the person did; `event` holds text/quick_reply, postback or referral."""
        entry: dict[str, Any] = {"direction": "in", "mid": new_mid(), "time": int(now * 1000)}
        entry.update(event)
        self.entries.append(entry)
        self.last_user_activity = now
        return entry

    def add_outgoing(
        self,
        *,
        now: float,
        messaging_type: str | None,
        message: dict[str, Any] | None = None,
        sender_action: str | None = None,
        tag: str | None = None,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "direction": "out",
            "mid": new_mid(),
            "time": int(now * 1000),
            "messaging_type": messaging_type,
        }
        if message is not None:
            entry["message"] = message
        if sender_action is not None:
            entry["sender_action"] = sender_action
        if tag is not None:
            entry["tag"] = tag
        self.entries.append(entry)
        return entry

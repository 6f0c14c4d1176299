"""Login links at rest: the outbox keeps a reference, the signed ticket exists only in flight.

A login ticket is a bearer credential: whoever holds the link can start a login for that
conversation. The outbox keeps each message until housekeeping removes it, so the button URL
a handler queues there is a *reference* instead, ``/auth/start?ticket_ref=<base64url JSON>``:
the conversation, the scopes and the ticket id, with no signature. Just before the Send API
call the sender renders it into the real ``/auth/start?ticket=…`` URL, signed then. (It is a
URL so the message builders accept it; opened as it is, it gets the "invalid link" page.)
Someone who reads the database (or a backup of it) learns who was asked for what, but gets no
link that works; and the ticket's lifetime starts when the person can first see the message,
not when it was queued (a message held back by a retry no longer arrives with a stale link).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from botperms.config import LoginFlow
from botperms.flows.tickets import TicketSigner, new_ticket_id

REF_PARAM = "ticket_ref"


class LoginLinkReferences:
    """Makes login-link references (:meth:`reference`, what the bot's prompts queue) and turns
    them into signed URLs (:meth:`render`, what the sender calls on each payload)."""

    def __init__(
        self, tickets: TicketSigner, start_url: str, default_scopes: tuple[str, ...]
    ) -> None:
        self._tickets = tickets
        self._start_url = start_url
        self._default_scopes = default_scopes
        self._prefix = f"{start_url}?{REF_PARAM}="
        self._marker = f"?{REF_PARAM}="
        self._pattern = re.compile(re.escape(self._prefix) + r"([A-Za-z0-9_-]*)")

    def reference(
        self,
        page_id: str,
        psid: str,
        scopes: tuple[str, ...] | None = None,
        *,
        auth_type: str | None = None,
        display_name: str | None = None,
    ) -> str:
        """Stands for the URL a "Log in" button opens for this person (``LoginLinks``)."""
        fields = {
            "p": page_id,
            "u": psid,
            "s": list(scopes or self._default_scopes),
            "a": auth_type,
            "n": display_name,
            "j": new_ticket_id(),
        }
        data = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
        return self._prefix + base64.urlsafe_b64encode(data).decode().rstrip("=")

    def render(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` with every reference in its strings replaced by a signed login URL
        (the same object when it has none). A damaged reference raises ``ValueError``: the
        message cannot be sent as queued."""
        if not self._mentions(payload):
            return payload
        rendered: dict[str, Any] = self._walk(payload)
        return rendered

    def _mentions(self, value: Any) -> bool:
        """Whether any string in ``value`` holds a reference. A walk, not ``json.dumps``: a
        text reply is one dict and one string, and the dump was 4 % of a busy handler
        process's CPU."""
        if isinstance(value, str):
            return self._marker in value
        if isinstance(value, dict):
            return any(self._mentions(item) for item in value.values())
        if isinstance(value, list):
            return any(self._mentions(item) for item in value)
        return False

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._pattern.sub(lambda match: self._url(match.group(1)), value)
        if isinstance(value, dict):
            return {key: self._walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._walk(item) for item in value]
        return value

    def _url(self, encoded: str) -> str:
        try:
            fields = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
            ticket = self._tickets.issue(
                str(fields["p"]),
                str(fields["u"]),
                tuple(str(scope) for scope in fields["s"]),
                flow=LoginFlow.WEB,
                auth_type=fields.get("a"),
                display_name=fields.get("n"),
                ticket_id=str(fields["j"]),
            )
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"a login link reference is damaged ({type(exc).__name__})") from None
        return f"{self._start_url}?ticket={ticket}"

"""Signed, short-lived login tickets carried by the "Log in" button URL.

A ticket names the conversation (page, PSID) and the scopes to ask for. It is signed so nobody
can forge one for another PSID, expires quickly, and is single-use: the store refuses a second
login attempt with the same ticket id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer

from botperms.config import LoginFlow
from botperms.flows.errors import FailureReason, FlowError

_FLOWS = frozenset(flow.value for flow in LoginFlow)


@dataclass(frozen=True)
class Ticket:
    page_id: str
    psid: str
    scopes: tuple[str, ...]
    flow: LoginFlow
    ticket_id: str
    auth_type: str | None = None
    # Shown on the confirmation page so a forwarded link tells its reader whose it is.
    display_name: str | None = None


def derive_key(app_secret: str, purpose: str) -> bytes:
    """A purpose-bound key, so a ticket signature is never valid as anything else."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
    return hkdf.derive(app_secret.encode())


class TicketSigner:
    def __init__(self, app_secret: str, ttl_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(
            derive_key(app_secret, "botperms login ticket v1"), salt="login-ticket"
        )
        self._ttl = ttl_seconds

    def issue(
        self,
        page_id: str,
        psid: str,
        scopes: tuple[str, ...] | list[str],
        *,
        flow: LoginFlow = LoginFlow.WEB,
        auth_type: str | None = None,
        display_name: str | None = None,
        ticket_id: str | None = None,
    ) -> str:
        """A signed ticket. ``ticket_id``: the id that makes it single-use (new when None);
        a login link rendered again for a retried send keeps its id, so either copy works once
        between them."""
        payload = {
            "p": page_id,
            "u": psid,
            "s": list(scopes),
            "f": flow.value,
            "a": auth_type,
            "n": _printable(display_name),
            "j": ticket_id or new_ticket_id(),
        }
        return str(self._serializer.dumps(payload))

    def verify(self, token: str) -> Ticket:
        try:
            payload = self._serializer.loads(token, max_age=self._ttl)
        except SignatureExpired as exc:
            # The signature was good, so the payload is ours: say whose ticket expired, so the
            # bot can send that person a fresh link.
            expired = self._expired(exc.payload)
            raise FlowError(
                FailureReason.TICKET_EXPIRED,
                "login ticket expired",
                page_id=expired.page_id if expired else None,
                psid=expired.psid if expired else None,
            ) from None
        except BadSignature:
            raise FlowError(FailureReason.TICKET_INVALID, "login ticket is not ours") from None
        return self._parse(payload)

    def _expired(self, payload: bytes | None) -> Ticket | None:
        if payload is None:
            return None
        try:
            return self._parse(self._serializer.load_payload(payload))
        except (BadData, FlowError):
            return None

    @staticmethod
    def _parse(payload: object) -> Ticket:
        # Signed by us, but possibly by another version of us: every field is checked for its
        # type rather than coerced, so nothing but a str ever reaches a page or the store.
        if not isinstance(payload, dict):
            raise FlowError(FailureReason.TICKET_INVALID, "login ticket is malformed")
        page_id, psid, scopes = payload.get("p"), payload.get("u"), payload.get("s")
        ticket_id, auth_type, name = payload.get("j"), payload.get("a"), payload.get("n")
        flow = payload.get("f")
        if not (
            isinstance(flow, str)
            and flow in _FLOWS
            and isinstance(page_id, str)
            and isinstance(psid, str)
            and isinstance(ticket_id, str)
            and isinstance(scopes, list)
            and all(isinstance(scope, str) for scope in scopes)
            and isinstance(auth_type, str | None)
            and isinstance(name, str | None)
        ):
            raise FlowError(FailureReason.TICKET_INVALID, "login ticket is malformed")
        return Ticket(
            page_id=page_id,
            psid=psid,
            scopes=tuple(scopes),
            flow=LoginFlow(flow),
            ticket_id=ticket_id,
            auth_type=auth_type,
            display_name=name,
        )


def new_ticket_id() -> str:
    return secrets.token_urlsafe(12)


def _printable(name: str | None) -> str | None:
    """The name as UTF-8 can carry it: a lone surrogate (a "\\ud800" escape in the Graph
    API's JSON) would make the ticket impossible to encode."""
    if name is None:
        return None
    return name.encode("utf-8", "replace").decode("utf-8")


def utcnow() -> datetime:
    return datetime.now(UTC)

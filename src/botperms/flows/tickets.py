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
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from botperms.config import LoginFlow
from botperms.flows.errors import FailureReason, FlowError


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
    ) -> str:
        payload = {
            "p": page_id,
            "u": psid,
            "s": list(scopes),
            "f": flow.value,
            "a": auth_type,
            "n": display_name,
            "j": secrets.token_urlsafe(12),
        }
        return str(self._serializer.dumps(payload))

    def verify(self, token: str) -> Ticket:
        try:
            payload = self._serializer.loads(token, max_age=self._ttl)
        except SignatureExpired as exc:
            # The signature was good, so the payload is ours: say whose ticket expired, so the
            # bot can send that person a fresh link.
            if exc.payload is None:
                raise FlowError(FailureReason.TICKET_EXPIRED, "login ticket expired") from None
            expired = self._parse(self._serializer.load_payload(exc.payload))
            raise FlowError(
                FailureReason.TICKET_EXPIRED,
                "login ticket expired",
                page_id=expired.page_id,
                psid=expired.psid,
            ) from None
        except BadSignature:
            raise FlowError(FailureReason.TICKET_INVALID, "login ticket is not ours") from None
        return self._parse(payload)

    @staticmethod
    def _parse(payload: object) -> Ticket:
        if not isinstance(payload, dict):
            raise FlowError(FailureReason.TICKET_INVALID, "login ticket is malformed")
        try:
            return Ticket(
                page_id=str(payload["p"]),
                psid=str(payload["u"]),
                scopes=tuple(str(s) for s in payload["s"]),
                flow=LoginFlow(payload["f"]),
                ticket_id=str(payload["j"]),
                auth_type=payload.get("a"),
                display_name=payload.get("n"),
            )
        except (KeyError, TypeError, ValueError):
            raise FlowError(FailureReason.TICKET_INVALID, "login ticket is malformed") from None


def utcnow() -> datetime:
    return datetime.now(UTC)

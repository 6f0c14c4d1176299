"""Leaving: Facebook's deauthorize and data-deletion callbacks (contract §7).

Both arrive as a form POST carrying a ``signed_request`` whose ``user_id`` is the person's
app-scoped id (ASID). Deauthorize ends every grant of that person; data deletion erases
everything we hold about them and answers with a confirmation code and a status URL.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import structlog

from botperms.config import Settings
from botperms.messenger import InvalidSignedRequest, parse_signed_request
from botperms.store import DeletionRequestRecord, GrantRecord, Store

log = structlog.get_logger(__name__)

DEAUTHORIZE_PATH = "/facebook/deauthorize"
DATA_DELETION_PATH = "/facebook/data-deletion"
DELETION_STATUS_PATH = "/deletion"


@dataclass(frozen=True)
class DeletionReceipt:
    url: str
    confirmation_code: str
    erased: dict[str, int]


class LeavingService:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    def _asid(self, raw: str | None) -> str:
        request = parse_signed_request(self.settings.app_secret.get_secret_value(), raw)
        if request.user_id is None:
            raise InvalidSignedRequest("signed_request names no user_id")
        return request.user_id

    async def deauthorize(self, raw_signed_request: str | None) -> list[GrantRecord]:
        """The person removed the app: end their grants, logins in progress and intents.

        Raises ``InvalidSignedRequest`` (nothing changes) or ``StoreError``. Facebook already
        dropped the token, so there is nothing to revoke on its side.
        """
        asid = self._asid(raw_signed_request)
        revoked = await self.store.deauthorize(asid)
        log.info("leaving.deauthorized", grants=len(revoked))
        return revoked

    async def delete_data(self, raw_signed_request: str | None) -> DeletionReceipt:
        """Erase the person and record the request, in one transaction.

        Raises ``InvalidSignedRequest`` (nothing changes) or ``StoreError`` (nothing changes
        either: Facebook sees an error and the person can ask again).
        """
        asid = self._asid(raw_signed_request)
        code = secrets.token_hex(10)
        erased = await self.store.delete_person(asid, code=code)
        log.info("leaving.data_deleted", code=code, rows=sum(erased.values()))
        return DeletionReceipt(
            url=self.settings.url(f"{DELETION_STATUS_PATH}?id={code}"),
            confirmation_code=code,
            erased=erased,
        )

    async def deletion_status(self, code: str | None) -> DeletionRequestRecord | None:
        if not code or len(code) > 64:
            return None
        return await self.store.deletion_request(code)

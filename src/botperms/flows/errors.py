"""Named failures of the permission flows, each with a reason a page and a message can explain."""

from __future__ import annotations

from botperms.failures import FailureReason

__all__ = ["HTTP_STATUS", "FailureReason", "FlowError"]


# HTTP status of the page a person sees for each failure (Bolt's habit: the status says which
# side is at fault, the page says what to do next).
HTTP_STATUS: dict[FailureReason, int] = {
    FailureReason.TICKET_INVALID: 400,
    FailureReason.TICKET_EXPIRED: 410,
    FailureReason.TICKET_USED: 409,
    FailureReason.STATE_MISSING: 400,
    FailureReason.STATE_INVALID: 401,
    FailureReason.STATE_EXPIRED: 410,
    FailureReason.STATE_USED: 409,
    FailureReason.BROWSER_MISMATCH: 400,
    FailureReason.ACCESS_DENIED: 200,
    FailureReason.CODE_MISSING: 400,
    FailureReason.GRAPH_ERROR: 502,
    FailureReason.TOKEN_INVALID: 502,
    FailureReason.WRONG_APP: 400,
    FailureReason.STORAGE_ERROR: 503,
    FailureReason.LOGIN_CANCELLED: 409,
    FailureReason.LINK_REDIRECT_INVALID: 400,
}


class FlowError(Exception):
    """A flow stopped for ``reason``; ``page_id``/``psid`` are set when we know whose it was.

    ``link_redirect`` is set for account-linking attempts: where the browser goes to tell
    Messenger that linking failed (its redirect_uri, without an authorization_code).
    """

    def __init__(
        self,
        reason: FailureReason,
        detail: str = "",
        *,
        page_id: str | None = None,
        psid: str | None = None,
        link_redirect: str | None = None,
    ) -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail
        self.page_id = page_id
        self.psid = psid
        self.link_redirect = link_redirect

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.reason]

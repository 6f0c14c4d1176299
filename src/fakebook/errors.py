"""Facebook-shaped errors: one exception type, rendered as the Graph error envelope.

HTTP statuses are our choice where the contract says UNCONFIRMED (§0, §11.3): 400 for almost
everything as Facebook does; 403 for permission errors (codes 10 and 200-299) because that is
what they mean; 500 only when a fault injected through the control API asks for it.
"""

from __future__ import annotations

import secrets
import string

from starlette.responses import JSONResponse

_TRACE_ALPHABET = string.ascii_letters + string.digits + "/_"


def fbtrace_id() -> str:
    return "".join(secrets.choice(_TRACE_ALPHABET) for _ in range(11))


def _default_status(code: int) -> int:
    if code == 10 or 200 <= code <= 299:
        return 403
    return 400


class GraphError(Exception):
    """A Graph API error; `www_authenticate` names the OAuth error for the header, if any."""

    def __init__(
        self,
        message: str,
        *,
        code: int,
        subcode: int | None = None,
        type: str = "OAuthException",
        http_status: int | None = None,
        www_authenticate: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.type = type
        self.http_status = http_status if http_status is not None else _default_status(code)
        self.www_authenticate = www_authenticate

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}

    def response(self) -> JSONResponse:
        headers: dict[str, str] = {}
        if self.www_authenticate is not None:
            # Facebook quotes each part; a quote inside the message would break the header.
            text = self.message.replace('"', "'")
            headers["WWW-Authenticate"] = (
                f'OAuth "Facebook Platform" "{self.www_authenticate}" "{text}"'
            )
        return JSONResponse(self.body(), status_code=self.http_status, headers=headers)


def invalid_param(message: str, *, subcode: int | None = None) -> GraphError:
    """Code 100 with Facebook's "(#100) " prefix on the message."""
    return GraphError(f"(#100) {message}", code=100, subcode=subcode)

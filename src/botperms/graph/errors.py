"""The Graph API errors a handler may catch: ``GraphError`` and one subclass per kind of
failure. Which one a response becomes is :mod:`botperms.graph.responses`; masking secrets in
their messages is :mod:`botperms.graph.redaction`."""

from __future__ import annotations

from typing import Any, ClassVar


class GraphError(Exception):
    """A Graph API call failed. ``str()`` is meant for people and never carries a token.

    Every error below is a subclass, so ``except GraphError`` catches them all. ``code`` and
    ``subcode`` are Facebook's numbers, ``endpoint`` is ``"GET /me/likes"`` (never with the
    query string), ``fbtrace_id`` is what Facebook support asks for.
    """

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        type: str | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
        endpoint: str | None = None,
        ambiguous: bool = False,
    ) -> None:
        self.message = message
        self.code = code
        self.subcode = subcode
        self.type = type
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        # "GET /me/likes" style, never with the query string (that is where tokens live).
        self.endpoint = endpoint
        # True when the request may have taken effect although we saw a failure (a send that
        # timed out after being written): callers that cannot tolerate duplicates must not resend.
        self.ambiguous = ambiguous
        super().__init__(message)

    def __str__(self) -> str:
        where = f"{self.endpoint}: " if self.endpoint else ""
        details = []
        if self.code is not None:
            details.append(f"code {self.code}" + (f"/{self.subcode}" if self.subcode else ""))
        if self.type:
            details.append(self.type)
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.fbtrace_id:
            details.append(f"fbtrace_id {self.fbtrace_id}")
        suffix = f" ({', '.join(details)})" if details else ""
        return f"{where}{self.message}{suffix}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class InvalidTokenError(GraphError):
    """The token is invalid, expired, or was revoked: the person has to log in again.

    Let it escape a ``@requires`` handler: botperms marks the grant expired, asks the person
    to log in again and replays the event after the login.
    """


class RateLimitedError(GraphError):
    """An app, page, user or business-use-case rate limit was hit; back off and retry.

    botperms has already retried within reason when a handler sees it; ``retry_after`` is
    Facebook's hint in seconds, if it gave one. Tell the person to try again later.
    """

    retryable: ClassVar[bool] = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class UserUnavailableError(GraphError):
    """The person cannot be reached (blocked the Page, unknown PSID, phone-only account)."""


class OutsideWindowError(GraphError):
    """The 24-hour messaging window is closed; only a message tag could still go out."""


class GraphPermissionError(GraphError):
    """The app or token lacks a permission or feature for this call.

    For a user token, add the permission to the handler's ``@requires``.
    """


class InvalidParameterError(GraphError):
    """Facebook rejected a parameter (including an already-used authorization code, 36009)."""


class LinkingTokenError(GraphError):
    """The ``account_linking_token`` expired or is otherwise unusable."""


class PagingError(GraphError):
    """A paged list links its next page somewhere the token must not go, with no cursor to
    rebuild the request from (see `botperms.graph.paging`)."""


class TransientError(GraphError):
    """A temporary failure (server error, network trouble, timeout); retrying may succeed.

    GET and DELETE calls have been retried already when a handler sees it.
    """

    retryable: ClassVar[bool] = True

"""Typed Graph API errors, the code/subcode table that picks one, and secret redaction."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

# Query/form parameters whose values are credentials. Facebook error texts and httpx messages can
# echo request URLs, so anything that looks like `name=value` for these names is masked.
SECRET_PARAMS = (
    "access_token",
    "appsecret_proof",
    "client_secret",
    "fb_exchange_token",
    "input_token",
    "code",
    "code_verifier",
    "account_linking_token",
)
_PARAM_RE = re.compile(r"(?i)\b(" + "|".join(SECRET_PARAMS) + r")=[^&\s\"'#]+")
# User/page tokens start with "EAA"; app tokens are "<app id>|<secret>". Masked even when we did
# not send them ourselves (e.g. a token quoted back inside a message).
_TOKEN_RE = re.compile(r"\bEAA[A-Za-z0-9]{16,}|\b\d{5,}\|[A-Za-z0-9_-]{16,}")
REDACTED = "[redacted]"
_MAX_BODY_EXCERPT = 200


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask known secret values and anything shaped like a token or a credential parameter."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _PARAM_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _TOKEN_RE.sub(REDACTED, text)


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


_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
_TOKEN_CODES = frozenset({190, 102, 463, 467})
_USER_UNAVAILABLE = frozenset({(200, 1545041), (10, 2018108), (100, 2018001)})
_LINKING_CODES = frozenset({10301, 10303})


def _classify(code: int | None, subcode: int | None, http_status: int | None) -> type[GraphError]:
    pair = (code, subcode)
    if code in _TOKEN_CODES:
        return InvalidTokenError
    if code in _LINKING_CODES or subcode in _LINKING_CODES:
        return LinkingTokenError
    if code in _RATE_LIMIT_CODES:
        return RateLimitedError
    if code == 551 or 2018218 in (code, subcode) or pair in _USER_UNAVAILABLE:
        return UserUnavailableError
    if code == 10 and subcode in (2018278, 2018065):
        return OutsideWindowError
    if code in (1, 2, 1200):
        return TransientError
    if code == 100:
        return InvalidParameterError
    # 10 covers "permission denied" generally, 200–299 are the permission-error range.
    if code == 10 or (code is not None and 200 <= code <= 299):
        return GraphPermissionError
    if http_status == 429:
        return RateLimitedError
    if http_status is not None and http_status >= 500:
        return TransientError
    return GraphError


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait, from ``Retry-After`` or the BUC header's minutes-to-regain-access."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    hints: list[float] = []
    retry_after = lowered.get("retry-after", "").strip()
    if retry_after:
        # The HTTP-date form is ignored: Facebook sends seconds, if anything.
        with contextlib.suppress(ValueError):
            hints.append(max(0.0, float(retry_after)))
    buc = lowered.get("x-business-use-case-usage")
    if buc:
        try:
            usage = json.loads(buc)
        except ValueError:
            usage = None
        if isinstance(usage, dict):
            for entries in usage.values():
                for entry in entries if isinstance(entries, list) else []:
                    minutes = (
                        entry.get("estimated_time_to_regain_access")
                        if isinstance(entry, dict)
                        else None
                    )
                    if isinstance(minutes, int | float) and not isinstance(minutes, bool):
                        hints.append(float(minutes) * 60.0)
    positive = [h for h in hints if h > 0]
    if positive:
        return max(positive)
    return 0.0 if hints else None


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_BODY_EXCERPT else text[:_MAX_BODY_EXCERPT] + "…"


def error_from_response(
    status: int,
    body: bytes | str | dict[str, Any] | None,
    *,
    headers: Mapping[str, str] | None = None,
    redact_values: Iterable[str] = (),
    endpoint: str | None = None,
) -> GraphError:
    """Build the right :class:`GraphError` subclass from an HTTP status and response body.

    ``redact_values`` are secrets used in the request (token, proof, app secret); they are masked
    in the message in addition to the generic token patterns.
    """
    secrets = tuple(redact_values)
    parsed: Any = body
    if isinstance(body, bytes | str):
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            kind = _classify(None, None, status)
            if kind is GraphError and 200 <= status < 300:
                summary = f"Graph API returned a response that is not JSON: {_excerpt(text)!r}"
            else:
                summary = f"Graph API answered HTTP {status} with a non-JSON body"
                if text.strip():
                    summary += f": {_excerpt(text)!r}"
            return _build(kind, redact(summary, secrets), status, headers, endpoint)
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        kind = _classify(None, None, status)
        if parsed is None:
            summary = f"Graph API answered HTTP {status} with an empty body"
        else:
            summary = f"Graph API answered HTTP {status} without an error object"
        return _build(kind, summary, status, headers, endpoint)
    code = _as_int(error.get("code"))
    subcode = _as_int(error.get("error_subcode"))
    message = error.get("message")
    if not isinstance(message, str) or not message.strip():
        message = "Graph API error without a message"
    err_type = error.get("type") if isinstance(error.get("type"), str) else None
    trace = error.get("fbtrace_id") if isinstance(error.get("fbtrace_id"), str) else None
    return _build(
        _classify(code, subcode, status),
        redact(message, secrets),
        status,
        headers,
        endpoint,
        code=code,
        subcode=subcode,
        type=err_type,
        fbtrace_id=trace,
    )


def _build(
    kind: type[GraphError],
    message: str,
    status: int,
    headers: Mapping[str, str] | None,
    endpoint: str | None,
    **fields: Any,
) -> GraphError:
    if kind is RateLimitedError:
        return RateLimitedError(
            message,
            retry_after=parse_retry_after(headers),
            http_status=status,
            endpoint=endpoint,
            **fields,
        )
    return kind(message, http_status=status, endpoint=endpoint, **fields)

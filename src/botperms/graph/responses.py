"""From an HTTP answer to the right :class:`~botperms.graph.errors.GraphError`: Facebook's
code/subcode table, rate-limit hints, and a message with every secret masked."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from botperms.graph.errors import (
    GraphError,
    GraphPermissionError,
    InvalidParameterError,
    InvalidTokenError,
    LinkingTokenError,
    OutsideWindowError,
    RateLimitedError,
    TransientError,
    UserUnavailableError,
)
from botperms.graph.redaction import redact

_MAX_BODY_EXCERPT = 200
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

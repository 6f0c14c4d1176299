"""structlog set-up. No token or secret ever reaches a log line: values under secret-looking keys
are masked, and anything shaped like a Facebook token is masked wherever it appears."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"token|secret|proof|password|verifier|code|signature", re.IGNORECASE)
# User/page tokens start with EAA; app tokens are "<app id>|<secret>".
_TOKEN_SHAPES = re.compile(r"EAA[A-Za-z0-9]{10,}|\b\d{5,}\|[A-Za-z0-9_-]{8,}")
_SAFE_KEYS = {"code", "error_code", "status_code"}


def redact_text(text: str) -> str:
    return _TOKEN_SHAPES.sub("[redacted]", text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: _redact_item(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(item) for item in value)
    return value


def _redact_item(key: str, value: Any) -> Any:
    if key not in _SAFE_KEYS and _SECRET_KEYS.search(key) and isinstance(value, str):
        return "[redacted]"
    return _redact(value)


def redact_processor(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        event_dict[key] = _redact_item(key, event_dict[key])
    return event_dict


def configure(level: str = "INFO", *, json: bool = False) -> None:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )

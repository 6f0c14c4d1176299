"""The uvicorn server botperms runs, with limits for slow and hostile clients.

uvicorn closes idle keep-alive connections and can answer 503 past a connection count, but it
has no deadline for *reading* a request: a client that sends one header byte every few seconds
(slowloris) or trickles its body holds a connection, and a slot under ``limit_concurrency``,
forever. Here each connection's HTTP protocol gets two deadlines, counted from the request's
first byte (or from the connection opening, for a client that sends nothing):

- the headers must be complete within ``header_timeout``, or the client gets a 408 and the
  connection is closed;
- the whole request, body included, must be in within ``request_timeout``, or the connection
  is closed (the app sees ``http.disconnect``).

Both are armed and disarmed from the parser's own callbacks, so a normal request pays one timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from prometheus_client import Counter
from uvicorn.protocols.http.h11_impl import H11Protocol

from botperms.metrics import REGISTRY

log = logging.getLogger("botperms.web.server")

SLOW_CLIENTS = Counter(
    "botperms_http_slow_clients",
    "Connections closed for reading a request too slowly, by phase (headers, body).",
    ["phase"],
    registry=REGISTRY,
)

_TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 16\r\nconnection: close\r\n\r\n"
    b"Request Timeout\n"
)


@dataclass(frozen=True)
class Limits:
    """Defaults fit Facebook's webhook deliveries and people's browsers on slow phones."""

    header_timeout: float = 5.0
    request_timeout: float = 10.0
    # uvicorn answers 503 once this many connections are open (idle keep-alive ones included).
    max_connections: int = 1000
    keep_alive: int = 5

    def __post_init__(self) -> None:
        if not 0 < self.header_timeout <= self.request_timeout:
            raise ValueError("need 0 < header_timeout <= request_timeout")
        if self.max_connections < 2:
            raise ValueError("max_connections must be at least 2")


class _ReadDeadline:
    """One connection's timer: HEADERS until the headers are parsed, then BODY until the
    request is complete, then nothing until the next request's first byte."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limits: Limits) -> None:
        self.loop = loop
        self.limits = limits
        self.started = 0.0
        self.phase: str | None = None
        self.handle: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None

    def begin(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.started = self.loop.time()
        self._schedule("headers", self.started + self.limits.header_timeout)

    def headers_done(self) -> None:
        if self.phase == "headers":
            self._schedule("body", self.started + self.limits.request_timeout)

    def request_done(self) -> None:
        self.cancel()

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.handle, self.phase = None, None

    def _schedule(self, phase: str, when: float) -> None:
        self.cancel()
        self.phase = phase
        self.handle = self.loop.call_at(when, self._expire)

    def _expire(self) -> None:
        phase, transport = self.phase, self.transport
        self.handle, self.phase = None, None
        if transport is None or transport.is_closing():
            return
        SLOW_CLIENTS.labels(phase=phase or "unknown").inc()
        log.info("closing a connection that sent its request %s too slowly", phase)
        if phase == "headers":
            # No response has started, so a whole 408 can go out before the close.
            transport.write(_TIMEOUT_408)
        transport.close()


def _httptools_protocol(limits: Limits) -> type[asyncio.Protocol] | None:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # uvicorn without the [standard] extra
        return None

    class DeadlineHttpTools(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.deadline = _ReadDeadline(self.loop, limits)

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.deadline.begin(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            self.deadline.cancel()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self.deadline.phase is None:
                self.deadline.begin(self.transport)

        def on_headers_complete(self) -> None:
            self.deadline.headers_done()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self.deadline.request_done()
            super().on_message_complete()

    return DeadlineHttpTools


def _h11_protocol(limits: Limits) -> type[asyncio.Protocol]:
    class DeadlineH11(H11Protocol):
        # h11 parses inside handle_events with no per-event hook; its state machine says how
        # far the client's request has come after each chunk.
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.deadline = _ReadDeadline(self.loop, limits)

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.deadline.begin(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            self.deadline.cancel()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self.deadline.phase is None and self.conn.their_state is h11.IDLE:
                self.deadline.begin(self.transport)
            super().data_received(data)
            state = self.conn.their_state
            if state is h11.SEND_BODY:
                self.deadline.headers_done()
            elif state is not h11.IDLE:
                self.deadline.request_done()

    return DeadlineH11


def protocol_class(limits: Limits, *, prefer_httptools: bool = True) -> type[asyncio.Protocol]:
    """uvicorn's own choice ("auto": httptools when installed, else h11), with deadlines."""
    chosen = _httptools_protocol(limits) if prefer_httptools else None
    return chosen or _h11_protocol(limits)


def build_server(
    app: Any,
    *,
    host: str,
    port: int,
    limits: Limits | None = None,
    prefer_httptools: bool = True,
    **config: Any,
) -> uvicorn.Server:
    """A uvicorn Server for ``app`` with ``limits``; other keywords go to ``uvicorn.Config``."""
    limits = limits or Limits()
    return uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            http=protocol_class(limits, prefer_httptools=prefer_httptools),
            limit_concurrency=limits.max_connections,
            timeout_keep_alive=limits.keep_alive,
            **config,
        )
    )


def run_server(
    app: Any, *, host: str, port: int, limits: Limits | None = None, **config: Any
) -> None:
    """``uvicorn.run`` with ``limits``: Ctrl-C ends it quietly, a failed start exits 3."""
    server = build_server(app, host=host, port=port, limits=limits, **config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE

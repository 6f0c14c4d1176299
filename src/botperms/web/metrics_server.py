"""``/metrics`` (and ``/healthz``) on a port of their own (``BOTPERMS_METRICS_PORT``), away from
the public one.

A small threaded WSGI server in a daemon thread around prometheus-client's WSGI app, rather
than a second uvicorn server in the event loop: a scrape then costs the event loop nothing, the
public server's connection cap and slow-client deadlines are not shared with Prometheus, and it
works unchanged for ``serve``, ``worker`` and the demo. ``/healthz`` answers from the process's
health check (a worker has no other port to be probed on). Bind it to a private address (the
default, 127.0.0.1, or the host's internal interface); it has no authentication.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog
from prometheus_client import make_wsgi_app

from botperms.metrics import REGISTRY

log = structlog.get_logger(__name__)

# (healthy, report): the report is served as JSON, with 200 or 503.
Health = Callable[[], tuple[bool, dict[str, Any]]]


def _always_ok() -> tuple[bool, dict[str, Any]]:
    return True, {"status": "ok"}


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress does not hold the process at exit


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None  # scrapes every few seconds would flood the log


class MetricsServer:
    def __init__(self, host: str, port: int, *, health: Health = _always_ok) -> None:
        self.host = host
        self.port = port
        self._health = health
        self._metrics = make_wsgi_app(REGISTRY)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            try:
                healthy, report = self._health()
            except Exception as exc:  # a health check that fails is an unhealthy answer
                healthy, report = False, {"status": "unhealthy", "error": type(exc).__name__}
            body = json.dumps(report).encode()
            status = "200 OK" if healthy else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        result: Iterable[bytes] = self._metrics(environ, start_response)
        return result

    def start(self) -> None:
        """Listen now; an ``OSError`` (port in use) reaches the caller."""
        if self._server is None:
            server_class = _Server6 if ":" in self.host else _Server
            self._server = make_server(
                self.host, self.port, self._app, server_class, handler_class=_Quiet
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="metrics-server", daemon=True
            )
            self._thread.start()
            log.info("metrics.listening", host=self.host, port=self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server, self._thread = None, None

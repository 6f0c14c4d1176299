"""``/metrics`` on a port of its own (``BOTPERMS_METRICS_PORT``), away from the public one.

prometheus-client's own server, in a daemon thread, rather than a second uvicorn server in the
event loop: a scrape then costs the event loop nothing, the public server's connection cap and
slow-client deadlines are not shared with Prometheus, and it works unchanged for ``serve``,
``worker`` and the demo. Bind it to a private address (the default, 127.0.0.1, or the
host's internal interface); it has no authentication.
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import start_http_server

from botperms.metrics import REGISTRY

log = structlog.get_logger(__name__)


class MetricsServer:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen now; an ``OSError`` (port in use) reaches the caller."""
        if self._server is None:
            self._server, self._thread = start_http_server(
                self.port, addr=self.host, registry=REGISTRY
            )
            log.info("metrics.listening", host=self.host, port=self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server, self._thread = None, None

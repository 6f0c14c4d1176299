"""The metrics port: Prometheus' exposition on /metrics, and /healthz from the process's health
check (200 or 503 with a JSON report), served from a thread of its own."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from botperms.web.metrics_server import MetricsServer
from tests.e2e.servers import free_port


class Switch:
    def __init__(self) -> None:
        self.healthy = True
        self.broken = False

    def __call__(self) -> tuple[bool, dict[str, Any]]:
        if self.broken:
            raise RuntimeError("the check itself failed")
        return self.healthy, {"status": "ok" if self.healthy else "unhealthy", "role": "worker"}


def test_metrics_and_health_on_their_own_port() -> None:
    switch = Switch()
    server = MetricsServer("127.0.0.1", free_port(), health=switch)
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        scrape = httpx.get(f"{base}/metrics")
        assert scrape.status_code == 200
        assert "botperms_" in scrape.text
        ok = httpx.get(f"{base}/healthz")
        assert (ok.status_code, ok.json()) == (200, {"status": "ok", "role": "worker"})
        switch.healthy = False
        sick = httpx.get(f"{base}/healthz")
        assert (sick.status_code, sick.json()["status"]) == (503, "unhealthy")
        switch.broken = True
        failed = httpx.get(f"{base}/healthz")
        assert failed.status_code == 503
        assert failed.json() == {"status": "unhealthy", "error": "RuntimeError"}
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/metrics")


def test_a_port_in_use_reaches_the_caller() -> None:
    first = MetricsServer("127.0.0.1", free_port())
    first.start()
    try:
        with pytest.raises(OSError, match="in use"):
            MetricsServer("127.0.0.1", first.port).start()
    finally:
        first.stop()

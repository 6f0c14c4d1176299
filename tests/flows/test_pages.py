"""What every page a person sees carries, and what the logs never do."""

from __future__ import annotations

import httpx
import structlog


async def test_access_log_leaves_out_query_strings(client: httpx.AsyncClient) -> None:
    with structlog.testing.capture_logs() as logs:
        await client.get("/auth/start", params={"ticket": "SECRET-TICKET-VALUE"})
        await client.get("/auth/callback", params={"code": "SECRET-CODE", "state": "S"})
    http = [entry for entry in logs if entry["event"] == "http"]
    assert [(e["path"], e["status"]) for e in http] == [
        ("/auth/start", 400),
        ("/auth/callback", 401),
    ]
    assert "SECRET" not in repr(logs)


async def test_pages_carry_security_headers(client: httpx.AsyncClient) -> None:
    page = await client.get("/auth/start", params={"ticket": "x"})
    assert page.headers["referrer-policy"] == "no-referrer"
    csp = page.headers["content-security-policy"]
    assert csp.startswith("default-src 'none'; style-src 'self'; ")
    assert "script-src" not in csp  # only the page that takes you back runs a script
    assert "form-action 'self' https://fakebook.invalid" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in page.headers  # not in development


async def test_other_responses_get_the_strictest_policy(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/healthz"), await client.get("/static/style.css")):
        assert response.headers["content-security-policy"].startswith("default-src 'none'; ")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_health_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert (
        "botperms_webhook_requests_total" in metrics.text
        or "botperms_webhook_requests" in metrics.text
    )

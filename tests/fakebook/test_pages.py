"""Shared HTML helpers (fakebook.pages)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakebook.pages import error_page


async def test_error_page_escapes_and_sets_status() -> None:
    async def broken(request: Request) -> Response:
        return error_page(request, "Oops <1>", "bad <script>", 418)

    app = Starlette(routes=[Route("/", broken)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        page = await c.get("/")
    assert page.status_code == 418
    assert "bad &lt;script&gt;" in page.text
    assert 'id="error-title">Oops &lt;1&gt;' in page.text

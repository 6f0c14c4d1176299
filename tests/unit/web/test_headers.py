"""Content-Security-Policy per page and the headers every response carries (HSTS in production)."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from botperms.config import Settings
from botperms.web.headers import HSTS, STRICTEST, SecurityHeaders, page_policy
from tests.flows.conftest import make_settings


def _directives(policy: str) -> dict[str, str]:
    return dict(part.partition(" ")[::2] for part in policy.split("; "))


def test_a_page_without_scripts_may_load_only_our_stylesheet(tmp_path: Path) -> None:
    policy = _directives(page_policy(make_settings(tmp_path), scripts=False))
    assert policy["default-src"] == "'none'"
    assert policy["style-src"] == "'self'"
    assert "script-src" not in policy
    assert policy["base-uri"] == "'none'"
    assert policy["form-action"] == "'self' https://fakebook.invalid"
    assert "https://www.messenger.com" in policy["frame-ancestors"]


def test_the_return_page_may_run_our_script_and_the_extensions_sdk(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, extensions_sdk_url="https://sdk.invalid/x/sdk.js")
    policy = _directives(page_policy(settings, scripts=True))
    assert policy["script-src"] == "'self' https://sdk.invalid"
    assert policy["default-src"] == "'none'"


async def _get(settings: Settings, response: Response) -> httpx.Response:
    async def endpoint(request: Request) -> Response:
        return response

    app = Starlette(
        routes=[Route("/", endpoint)],
        middleware=[Middleware(SecurityHeaders, settings=settings)],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://bot.example") as http:
        return await http.get("/")


def _production(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path, env="production", public_url="https://bot.example",
        app_secret="a-real-app-secret-of-some-length", verify_token="a-real-verify-token",
    )  # fmt: skip


async def test_production_answers_carry_hsts(tmp_path: Path) -> None:
    answer = await _get(_production(tmp_path), PlainTextResponse("ok"))
    assert answer.headers["strict-transport-security"] == HSTS
    assert answer.headers["content-security-policy"] == STRICTEST


async def test_development_answers_do_not(tmp_path: Path) -> None:
    answer = await _get(make_settings(tmp_path), PlainTextResponse("ok"))
    assert "strict-transport-security" not in answer.headers
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_a_page_keeps_its_own_policy(tmp_path: Path) -> None:
    own = PlainTextResponse("ok", headers={"Content-Security-Policy": "default-src 'none'"})
    answer = await _get(make_settings(tmp_path), own)
    assert answer.headers.get_list("content-security-policy") == ["default-src 'none'"]

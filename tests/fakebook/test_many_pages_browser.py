"""The chat simulator's page picker in a real Chromium: the person picks a page, writes, and the
webhook names that page; each page shows its own thread."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from fakebook import create_app
from tests.fakebook.fbtesting import ALICE_PSID, PAGE_ID, make_config, proof
from tests.fakebook.test_simulator_browser import Served, eventually, free_port

pytestmark = pytest.mark.browser

SECOND_ID = "777666555444333"
SECOND_TOKEN = "EAAsecondpagetoken"


@pytest.fixture
def stack() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    fb_port, bot_port = free_port(), free_port()
    fb_url = f"http://127.0.0.1:{fb_port}"
    bodies: list[dict[str, Any]] = []

    async def webhook(request: Request) -> Response:
        bodies.append(json.loads(await request.body()))
        return PlainTextResponse("EVENT_RECEIVED")

    bot = Starlette(routes=[Route("/webhook", webhook, methods=["POST"])])
    config = make_config(
        public_url=fb_url,
        webhook_url=f"http://127.0.0.1:{bot_port}/webhook",
        extra_pages=[{"id": SECOND_ID, "name": "Second Page", "token": SECOND_TOKEN}],
    )
    with Served(create_app(config), fb_port), Served(bot, bot_port):
        yield fb_url, bodies


async def test_the_person_picks_the_page_they_write_to(
    browser: Browser, stack: tuple[str, list[dict[str, Any]]]
) -> None:
    fb, bodies = stack
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await page.goto(f"{fb}/chat?person={ALICE_PSID}")
    await expect(page.locator("#page-name")).to_have_text("Test Page")
    await page.select_option("#page-select", SECOND_ID)
    await expect(page.locator("#page-name")).to_have_text("Second Page")
    await page.fill("#message-input", "hello second")
    await page.press("#message-input", "Enter")

    async def delivered() -> bool:
        return bool(bodies)

    await eventually(delivered, "the webhook")
    assert bodies[0]["entry"][0]["id"] == SECOND_ID
    assert bodies[0]["entry"][0]["messaging"][0]["message"]["text"] == "hello second"
    # The second page answers in this thread, with its own token; the first page's is empty.
    params = {"access_token": SECOND_TOKEN, "appsecret_proof": proof(SECOND_TOKEN)}
    body = {"recipient": {"id": ALICE_PSID}, "messaging_type": "RESPONSE"}
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{fb}/v25.0/me/messages", params=params, json={**body, "message": {"text": "hi!"}}
        )
        assert answer.status_code == 200, answer.text
    await expect(page.locator(".entry.out .bubble")).to_have_text("hi!")
    await page.select_option("#page-select", PAGE_ID)
    await expect(page.locator("#page-name")).to_have_text("Test Page")
    await expect(page.locator(".entry")).to_have_count(0)
    await page.close()

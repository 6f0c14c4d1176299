"""The simulator's "a person is answering" state, in a real Chromium: after the bot passes the
thread to the Page Inbox the page shows it, the simulated person replies as the Page, and hands
the thread back; the bot's webhook sees standby deliveries and then ``pass_thread_control``."""

from __future__ import annotations

import asyncio
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
from tests.fakebook.fbtesting import ALICE_PSID, APP_ID, PAGE_TOKEN, make_config, proof
from tests.fakebook.test_simulator_browser import Served, free_port

pytestmark = pytest.mark.browser
PAGE_INBOX = "263902037430900"


@pytest.fixture
def served() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    fb_port, bot_port = free_port(), free_port()
    fb_url, bot_url = f"http://127.0.0.1:{fb_port}", f"http://127.0.0.1:{bot_port}"
    entries: list[dict[str, Any]] = []

    async def webhook(request: Request) -> Response:
        entries.append(json.loads(await request.body())["entry"][0])
        return PlainTextResponse("EVENT_RECEIVED")

    bot = Starlette(routes=[Route("/webhook", webhook, methods=["POST"])])
    config = make_config(public_url=fb_url, webhook_url=f"{bot_url}/webhook")
    with Served(create_app(config), fb_port), Served(bot, bot_port):
        yield fb_url, entries


async def test_a_person_answers_then_hands_back(
    browser: Browser, served: tuple[str, list[dict[str, Any]]]
) -> None:
    fb, entries = served
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await page.goto(f"{fb}/chat?person={ALICE_PSID}&view=phone")
    banner = page.locator("#human-banner")
    await expect(banner).to_be_hidden()

    # The bot passes the thread to the Page Inbox (as botperms' outbox would).
    params = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    async with httpx.AsyncClient() as http:
        passed = await http.post(
            f"{fb}/v25.0/me/pass_thread_control",
            params=params,
            json={"recipient": {"id": ALICE_PSID}, "target_app_id": PAGE_INBOX},
        )
    assert passed.json() == {"success": True}
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("is answering")
    await expect(page.locator(".entry.handover")).to_have_text(
        "The bot passed you to a person from the Page"
    )

    # Alice writes: the bot gets it as standby.
    await page.fill("#message-input", "is anyone there?")
    await page.press("#message-input", "Enter")
    await expect(page.locator(".entry.in .bubble")).to_have_text("is anyone there?")
    # The simulated person answers as the Page.
    await page.fill("#inbox-input", "Hi Alice, Sam here.")
    await page.click("#inbox-send")
    await expect(page.locator(".entry.human .bubble")).to_have_text("Hi Alice, Sam here.")
    await expect(page.locator(".entry.human .sender-label")).to_have_text("A person from the Page")

    # And hands the conversation back to the bot.
    await page.click("#inbox-hand-back")
    await expect(banner).to_be_hidden()
    await expect(page.locator(".entry.handover").last).to_have_text(
        "The conversation is back with the bot"
    )
    async with httpx.AsyncClient() as http:
        thread = (await http.get(f"{fb}/_fakebook/threads/{ALICE_PSID}")).json()
    assert thread["owner"] == APP_ID
    for _ in range(100):  # the hand-back's webhook is delivered in the background
        if len(entries) == 3:
            break
        await asyncio.sleep(0.05)
    assert len(entries) == 3
    assert entries[0]["standby"][0]["message"]["text"] == "is anyone there?"
    assert entries[1]["standby"][0]["message"]["is_echo"] is True
    assert entries[2]["messaging"][0]["pass_thread_control"]["new_owner_app_id"] == APP_ID
    assert ["standby" in entry for entry in entries] == [True, True, False]

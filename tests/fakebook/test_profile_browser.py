"""The simulator shows the page's Messenger Profile, in a real Chromium against real servers:
the greeting and Get Started in an empty thread, ice breakers instead of Get Started, and the
persistent menu behind the composer's menu button."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from fakebook import create_app
from tests.e2e.servers import ServerThread, free_port
from tests.fakebook.fbtesting import ALICE_PSID, BOB_PSID, PAGE_TOKEN, make_config, proof

pytestmark = pytest.mark.browser


@dataclass
class Stack:
    fb: str
    bot: str
    events: list[dict[str, Any]]


@pytest.fixture
def stack() -> Iterator[Stack]:
    fb_port, bot_port = free_port(), free_port()
    fb_url, bot_url = f"http://127.0.0.1:{fb_port}", f"http://127.0.0.1:{bot_port}"
    events: list[dict[str, Any]] = []

    async def webhook(request: Request) -> Response:
        events.append(json.loads(await request.body())["entry"][0]["messaging"][0])
        return PlainTextResponse("EVENT_RECEIVED")

    async def site(request: Request) -> Response:
        return HTMLResponse("<p id='site'>the bot's site</p>")

    bot = Starlette(routes=[Route("/webhook", webhook, methods=["POST"]), Route("/site", site)])
    config = make_config(public_url=fb_url, webhook_url=f"{bot_url}/webhook")
    servers = [ServerThread(create_app(config), fb_port), ServerThread(bot, bot_port)]
    for server in servers:
        server.start()
    yield Stack(fb_url, bot_url, events)
    for server in servers:
        server.stop()


async def set_profile(stack: Stack, body: dict[str, Any]) -> None:
    params = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{stack.fb}/v25.0/me/messenger_profile", params=params, json=body)
    assert answer.status_code == 200, answer.text


async def first_name(stack: Stack, psid: str) -> str:
    async with httpx.AsyncClient() as http:
        people = (await http.get(f"{stack.fb}/_fakebook/people")).json()
    return str(next(p["first_name"] for p in people if p["psid"] == psid))


async def postback_event(stack: Stack, payload: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for event in stack.events:
            if event.get("postback", {}).get("payload") == payload:
                return event
        await asyncio.sleep(0.05)
    raise AssertionError(f"no postback {payload} reached the bot: {stack.events}")


async def open_chat(browser: Browser, stack: Stack, psid: str) -> Page:
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await page.goto(f"{stack.fb}/chat?person={psid}&view=phone")
    return page


async def test_greeting_get_started_and_menu(browser: Browser, stack: Stack) -> None:
    await set_profile(
        stack,
        {
            "get_started": {"payload": "GET_STARTED"},
            "greeting": [{"locale": "default", "text": "Hi {{user_first_name}}, welcome!"}],
            "persistent_menu": [
                {
                    "locale": "default",
                    "composer_input_disabled": False,
                    "call_to_actions": [
                        {"type": "postback", "title": "My likes", "payload": "MY_LIKES"},
                        {"type": "web_url", "title": "Our site", "url": f"{stack.bot}/site"},
                    ],
                }
            ],
        },
    )
    page = await open_chat(browser, stack, ALICE_PSID)
    name = await first_name(stack, ALICE_PSID)
    await expect(page.locator("#greeting")).to_have_text(f"Hi {name}, welcome!")
    await page.click("#get-started")
    event = await postback_event(stack, "GET_STARTED")
    assert event["postback"]["title"] == "Get Started"
    assert event["sender"]["id"] == ALICE_PSID
    # The thread is no longer empty: the welcome gives way to the conversation.
    await expect(page.locator("#welcome")).to_have_count(0)
    await expect(page.locator(".entry.in .bubble.postback")).to_have_text("Get Started")

    await expect(page.locator("#persistent-menu")).to_be_hidden()
    await page.click("#menu-button")
    await expect(page.locator(".menu-item")).to_have_text(["My likes", "Our site"])
    await page.click(".menu-item:has-text('My likes')")
    event = await postback_event(stack, "MY_LIKES")
    assert event["postback"]["title"] == "My likes"
    await expect(page.locator("#persistent-menu")).to_be_hidden()

    await page.click("#menu-button")
    await page.click(".menu-item:has-text('Our site')")
    await expect(page.locator("#webview")).to_be_visible()
    await expect(page.frame_locator("#webview-frame").locator("#site")).to_have_text(
        "the bot's site"
    )
    assert await page.locator("#message-input").is_enabled()
    await page.close()


async def test_ice_breakers_replace_get_started_and_typing_can_be_off(
    browser: Browser, stack: Stack
) -> None:
    await set_profile(stack, {"get_started": {"payload": "GET_STARTED"}})
    page = await open_chat(browser, stack, BOB_PSID)
    await expect(page.locator("#get-started")).to_be_visible()
    await expect(page.locator("#menu-button")).to_be_hidden()

    # Applied while the chat is open: the page picks the new profile up on its next poll.
    await set_profile(
        stack,
        {
            "ice_breakers": [
                {
                    "locale": "default",
                    "call_to_actions": [
                        {"question": "What can you do?", "payload": "HELP"},
                        {"question": "Who are you?", "payload": "ABOUT"},
                    ],
                }
            ],
            "persistent_menu": [
                {
                    "locale": "default",
                    "composer_input_disabled": True,
                    "call_to_actions": [
                        {"type": "postback", "title": "Start over", "payload": "RESTART"}
                    ],
                }
            ],
        },
    )
    await expect(page.locator(".ice-breaker")).to_have_text(["What can you do?", "Who are you?"])
    await expect(page.locator("#get-started")).to_have_count(0)
    await expect(page.locator("#message-input")).to_be_disabled()
    await expect(page.locator("#menu-button")).to_be_visible()
    await page.click(".ice-breaker:has-text('Who are you?')")
    event = await postback_event(stack, "ABOUT")
    assert event["postback"]["title"] == "Who are you?"
    assert event["sender"]["id"] == BOB_PSID
    await expect(page.locator(".ice-breaker")).to_have_count(0)
    await page.close()

"""Account linking and Settings → Apps and Websites in a real Chromium.

fakebook and a tiny stand-in bot run as real servers on loopback ports. The bot's linking page
looks the PSID up through fakebook's Graph API and offers "Approve" (back to redirect_uri with
an authorization_code) or "Cancel" (back without one), as a real bot's linking endpoint would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import escape
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fakebook import create_app
from tests.e2e.servers import ServerThread, free_port
from tests.fakebook.fbtesting import (
    ALICE_PSID,
    FB,
    PAGE_TOKEN,
    Clock,
    make_config,
    proof,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Stack:
    fb: str
    bot: str
    events: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[str] = field(default_factory=list)


def bot_app(stack: Stack) -> Starlette:
    async def webhook(request: Request) -> Response:
        stack.events.append(json.loads(await request.body())["entry"][0]["messaging"][0])
        return PlainTextResponse("EVENT_RECEIVED")

    async def link_start(request: Request) -> Response:
        token = request.query_params["account_linking_token"]
        redirect_uri = request.query_params["redirect_uri"]
        params = {
            "fields": "recipient",
            "account_linking_token": token,
            "access_token": PAGE_TOKEN,
            "appsecret_proof": proof(PAGE_TOKEN),
        }
        async with httpx.AsyncClient() as http:
            found = (await http.get(f"{stack.fb}/v25.0/me", params=params)).json()
        approve = f"{redirect_uri}&authorization_code=code-for-{found['recipient']}"
        return HTMLResponse(
            f'<p id="psid">{escape(found["recipient"])}</p>'
            f'<a id="approve" href="{escape(approve)}">Approve</a> '
            f'<a id="cancel" href="{escape(redirect_uri)}">Cancel</a>'
        )

    async def callback(request: Request) -> Response:
        form = await request.form()
        stack.callbacks.append(f"{request.url.path} {str(form['signed_request'])[:8]}")
        if request.url.path == "/deletion":
            return JSONResponse(
                {"url": f"{stack.bot}/deletion-status?id=del-77", "confirmation_code": "del-77"}
            )
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/webhook", webhook, methods=["POST"]),
            Route("/link/start", link_start),
            Route("/deauthorize", callback, methods=["POST"]),
            Route("/deletion", callback, methods=["POST"]),
        ]
    )


@pytest.fixture
def stack() -> Iterator[Stack]:
    fb_port, bot_port = free_port(), free_port()
    stack = Stack(f"http://127.0.0.1:{fb_port}", f"http://127.0.0.1:{bot_port}")
    config = make_config(
        public_url=stack.fb,
        webhook_url=f"{stack.bot}/webhook",
        deauthorize_callback_url=f"{stack.bot}/deauthorize",
        data_deletion_callback_url=f"{stack.bot}/deletion",
    )
    fb_server = ServerThread(create_app(config), fb_port).start()
    bot_server = ServerThread(bot_app(stack), bot_port).start()
    try:
        yield stack
    finally:
        bot_server.stop()
        fb_server.stop()


async def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 5
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def linking_events(stack: Stack) -> list[dict[str, Any]]:
    return [event["account_linking"] for event in stack.events if "account_linking" in event]


async def send_link_buttons(stack: Stack) -> None:
    buttons = {
        "template_type": "button",
        "text": "Link your account",
        "buttons": [
            {"type": "account_link", "url": f"{stack.bot}/link/start"},
            {"type": "account_unlink"},
        ],
    }
    body = {
        "recipient": {"id": ALICE_PSID},
        "messaging_type": "RESPONSE",
        "message": {"attachment": {"type": "template", "payload": buttons}},
    }
    params = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{stack.fb}/v25.0/me/messages", params=params, json=body)
    assert answer.status_code == 200, answer.text


async def chat_with_buttons(browser: Browser, stack: Stack, view: str) -> Page:
    page = await browser.new_page(viewport=PHONE if view == "phone" else DESKTOP)
    await page.goto(f"{stack.fb}/chat?person={ALICE_PSID}&view={view}")
    await page.fill("#message-input", "hi")
    await page.press("#message-input", "Enter")
    await eventually(lambda: any("message" in e for e in stack.events), "the message webhook")
    await send_link_buttons(stack)
    await expect(page.locator(".tmpl-text")).to_have_text("Link your account")
    return page


async def test_link_and_unlink_from_the_phone_view(browser: Browser, stack: Stack) -> None:
    page = await chat_with_buttons(browser, stack, "phone")
    await page.click(".tmpl-button:has-text('Log in')")
    await expect(page.locator("#webview")).to_be_visible()
    frame = page.frame_locator("#webview-frame")
    # The bot learnt the PSID from the token alone, through the Graph look-up.
    await expect(frame.locator("#psid")).to_have_text(ALICE_PSID)
    await frame.locator("#approve").click()
    await expect(frame.locator("#linking-title")).to_have_text("Your account is linked")
    await eventually(lambda: bool(linking_events(stack)), "the linked webhook")
    assert linking_events(stack) == [
        {"status": "linked", "authorization_code": f"code-for-{ALICE_PSID}"}
    ]
    await expect(page.locator("#delivery-status")).to_contain_text("account_linking → delivered")
    await frame.locator("#back-to-chat").click()
    await expect(page.locator("#webview")).to_be_hidden()

    # A second tap mints a new token; cancelling sends nothing.
    await page.click(".tmpl-button:has-text('Log in')")
    await page.frame_locator("#webview-frame").locator("#cancel").click()
    await expect(page.frame_locator("#webview-frame").locator("#linking-title")).to_have_text(
        "Linking cancelled"
    )
    await page.click("#webview-close")

    await page.click(".tmpl-button:has-text('Log out')")
    await expect(page.locator("#toast")).to_contain_text("You logged out of Test Page")
    await eventually(lambda: len(linking_events(stack)) == 2, "the unlinked webhook")
    assert linking_events(stack)[-1] == {"status": "unlinked"}
    async with httpx.AsyncClient() as http:
        outcomes = (await http.get(f"{stack.fb}/_fakebook/linking/{ALICE_PSID}")).json()
    assert [o["status"] for o in outcomes] == ["linked", "cancelled", "unlinked"]
    await page.close()


async def test_desktop_view_does_not_link(browser: Browser, stack: Stack) -> None:
    page = await chat_with_buttons(browser, stack, "desktop")
    await page.click(".tmpl-button:has-text('Log in')")
    await expect(page.locator("#toast")).to_contain_text("only in the Messenger mobile apps")
    await expect(page.locator("#webview")).to_be_hidden()
    async with httpx.AsyncClient() as http:
        outcomes = (await http.get(f"{stack.fb}/_fakebook/linking/{ALICE_PSID}")).json()
    assert outcomes == []
    await page.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_settings_remove_app_and_delete_data(
    browser: Browser, stack: Stack, viewport: dict[str, int]
) -> None:
    async with httpx.AsyncClient(base_url=stack.fb) as http:
        await FB(http, Clock()).user_token()
    page = await browser.new_page(viewport=viewport)
    await page.goto(f"{stack.fb}/chat?person={ALICE_PSID}")
    await page.click("#settings-link")
    await expect(page.locator("h1")).to_have_text("Apps and Websites")
    await expect(page.locator("#app-active")).to_contain_text("Test Bot")
    # Nothing overflows the screen sideways, on a phone or a desktop.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"]
    remove = await page.locator("#remove-app").bounding_box()
    assert remove is not None
    assert remove["x"] + remove["width"] <= viewport["width"]

    await page.click("#remove-app")
    await expect(page.locator("#notice-title")).to_have_text("Test Bot was removed")
    await expect(page.locator("#app-removed")).to_be_visible()
    await page.click("#delete-data")
    await expect(page.locator("#notice-title")).to_have_text("Deletion requested")
    code = page.locator("#confirmation-code")
    await expect(code).to_have_text("del-77")
    await expect(code).to_have_attribute("href", f"{stack.bot}/deletion-status?id=del-77")
    assert [entry.split()[0] for entry in stack.callbacks] == ["/deauthorize", "/deletion"]
    await page.click("#back-to-chat")
    await expect(page.locator("#chat-app")).to_be_visible()
    await page.close()

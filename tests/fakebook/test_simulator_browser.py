"""The simulator's page, its webview overlay and the Extensions shim, in a real Chromium.

fakebook and a tiny stand-in bot run as real servers on loopback ports; the bot serves a
webview page that loads fakebook's SDK shim.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from fakebook import create_app
from tests.fakebook.fbtesting import (
    ALICE_PSID,
    APP_ID,
    PAGE_TOKEN,
    REDIRECT_URI,
    make_config,
    proof,
)

pytestmark = pytest.mark.browser

WEBVIEW_PAGE = """<!doctype html><html><body>
<p id="features">waiting</p><p id="context">waiting</p><p id="closed">open</p>
<button id="close" type="button">Done</button>
<script>
window.extAsyncInit = function () {
  MessengerExtensions.getSupportedFeatures(function (r) {
    document.getElementById("features").textContent = r.supported_features.join(",");
  }, function (code) { document.getElementById("features").textContent = "error " + code; });
  MessengerExtensions.getContext("APP_ID", function (c) {
    document.getElementById("context").textContent = c.psid + " " + c.signed_request.length;
  }, function (code) { document.getElementById("context").textContent = "error " + code; });
};
document.getElementById("close").onclick = function () {
  MessengerExtensions.requestCloseBrowser(function () {
    document.getElementById("closed").textContent = "closed";
  }, function (code) { document.getElementById("closed").textContent = "error " + code; });
};
</script><script src="SDK_URL"></script></body></html>"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Served:
    def __init__(self, app: Any, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()))

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


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

    async def webview(request: Request) -> Response:
        page = WEBVIEW_PAGE.replace("APP_ID", APP_ID)
        return HTMLResponse(page.replace("SDK_URL", f"{fb_url}/sdk/messenger.Extensions.js"))

    bot = Starlette(
        routes=[Route("/webhook", webhook, methods=["POST"]), Route("/webview", webview)]
    )
    config = make_config(public_url=fb_url, webhook_url=f"{bot_url}/webhook")
    with Served(create_app(config), fb_port), Served(bot, bot_port):
        yield Stack(fb_url, bot_url, events)


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(100):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def send(stack: Stack, message: dict[str, Any]) -> None:
    params = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    body = {"recipient": {"id": ALICE_PSID}, "messaging_type": "RESPONSE", "message": message}
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{stack.fb}/v25.0/me/messages", params=params, json=body)
    assert answer.status_code == 200, answer.text


async def open_chat(browser: Browser, stack: Stack, view: str) -> Page:
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await page.goto(f"{stack.fb}/chat?person={ALICE_PSID}&view={view}")
    return page


async def test_typing_quick_replies_and_postbacks_reach_the_bot(
    browser: Browser, stack: Stack
) -> None:
    page = await open_chat(browser, stack, "phone")
    await page.fill("#message-input", "hello äöå")
    await page.press("#message-input", "Enter")
    await expect(page.locator(".entry.in .bubble")).to_have_text("hello äöå")
    await eventually(lambda: _has(stack, "message"), "the message webhook")
    assert stack.events[0]["message"]["text"] == "hello äöå"
    await expect(page.locator("#delivery-status")).to_contain_text("delivered (HTTP 200)")

    await send(
        stack,
        {
            "text": "Pick one",
            "quick_replies": [{"content_type": "text", "title": "Red", "payload": "PICK_RED"}],
        },
    )
    # Like Messenger, the desktop view does not offer quick replies.
    await page.click("#view-desktop")
    await expect(page.locator(".quick-reply")).to_be_hidden()
    await expect(page.locator(".desktop-note")).to_be_visible()
    await page.click("#view-phone")
    await page.click(".quick-reply")
    await eventually(lambda: _has(stack, "quick_reply"), "the quick reply webhook")
    assert stack.events[-1]["message"]["quick_reply"] == {"payload": "PICK_RED"}
    await expect(page.locator(".quick-reply")).to_have_count(0)
    assert stack.events[-1]["message"]["text"] == "Red"

    buttons = {
        "template_type": "button",
        "text": "Connect your account",
        "buttons": [{"type": "postback", "title": "Later", "payload": "LATER"}],
    }
    await send(stack, {"attachment": {"type": "template", "payload": buttons}})
    await expect(page.locator(".tmpl-text")).to_have_text("Connect your account")
    await page.click(".tmpl-button:has-text('Later')")
    await eventually(lambda: _has(stack, "postback"), "the postback webhook")
    assert stack.events[-1]["postback"]["payload"] == "LATER"
    await page.close()


async def _has(stack: Stack, kind: str) -> bool:
    if kind == "quick_reply":
        return any("quick_reply" in e.get("message", {}) for e in stack.events)
    return any(kind in e for e in stack.events)


def web_url_template(stack: Stack) -> dict[str, Any]:
    button = {
        "type": "web_url",
        "url": f"{stack.bot}/webview",
        "title": "Open",
        "webview_height_ratio": "tall",
        "messenger_extensions": True,
    }
    payload = {"template_type": "button", "text": "Log in", "buttons": [button]}
    return {"attachment": {"type": "template", "payload": payload}}


async def test_phone_view_webview_runs_the_extensions_shim(browser: Browser, stack: Stack) -> None:
    page = await open_chat(browser, stack, "phone")
    await page.fill("#message-input", "hi")
    await page.press("#message-input", "Enter")
    await eventually(lambda: _has(stack, "message"), "the message webhook")
    await send(stack, web_url_template(stack))
    await page.click(".tmpl-button:has-text('Open')")
    await expect(page.locator("#webview")).to_be_visible()
    frame = page.frame_locator("#webview-frame")
    await expect(frame.locator("#features")).to_contain_text("context")
    await expect(frame.locator("#context")).to_contain_text(ALICE_PSID)
    await frame.locator("#close").click()
    await expect(page.locator("#webview")).to_be_hidden()
    await page.close()


async def test_desktop_view_opens_a_tab_where_extensions_fail(
    browser: Browser, stack: Stack
) -> None:
    page = await open_chat(browser, stack, "desktop")
    await page.fill("#message-input", "hi")
    await page.press("#message-input", "Enter")
    await eventually(lambda: _has(stack, "message"), "the message webhook")
    await send(stack, web_url_template(stack))
    async with page.context.expect_page() as opened:
        await page.click(".tmpl-button:has-text('Open')")
    tab = await opened.value
    await expect(tab.locator("#features")).to_have_text("error 2071011", timeout=5000)
    await expect(page.locator("#webview")).to_be_hidden()
    await tab.close()
    await page.close()


async def test_dialog_marks_declined_scopes(browser: Browser, stack: Stack) -> None:
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    # The redirect target does not exist; answer it in the browser instead.
    await page.route("https://bot.test/**", lambda route: route.fulfill(body="back at the bot"))
    dialog = (
        f"{stack.fb}/v25.0/dialog/oauth?client_id={APP_ID}&redirect_uri={REDIRECT_URI}"
        "&scope=user_likes,email&state=s1"
    )
    await page.goto(dialog)
    await page.check(f"#person-{ALICE_PSID}")
    await page.uncheck("#scope-email")
    await page.click("#continue")
    await page.wait_for_url(f"{REDIRECT_URI}?**")
    assert "code=" in page.url
    assert page.url.endswith("#_=_")
    await page.goto(dialog)
    await page.check(f"#person-{ALICE_PSID}")
    await expect(page.locator("#scope-email")).to_be_disabled()
    await expect(page.locator("#note-email")).to_have_text("declined before")
    await expect(page.locator("#scope-user_likes")).to_be_disabled()
    await page.goto(dialog + "&auth_type=rerequest")
    await expect(page.locator("#scope-email")).to_be_enabled()
    await page.close()

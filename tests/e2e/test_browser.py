"""The login-link flow in a real Chromium, the way a newcomer does it in the demo.

The bot and fakebook run as real servers on loopback ports (``stack``); Debian's chromium is
driven through Playwright. A person chats in fakebook's Messenger simulator, taps the bot's
**Log in with Facebook** button and goes through our confirm page, fakebook's Login dialog and
our callback; each test checks how the browser gets back to the conversation:

- a desktop tab opened by the simulator closes itself;
- a desktop tab the script did not open shows the fallback link back to Messenger;
- the simulator's phone view (an in-page webview) is closed through the Extensions SDK shim;
- Messenger's iOS in-app browser, top level, falls back to ``m.me`` when the SDK refuses;
- a phone browser is sent straight to ``m.me`` by the callback.

On the way the tests save the README's screenshots (``tests/e2e/shots.py``): our pages and the
simulator at a phone (390x844) and a desktop (1280x800) size, in ``docs/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    FrameLocator,
    Locator,
    Page,
    Request,
    async_playwright,
    expect,
)

from tests.e2e.conftest import PAGE_ID, Stack
from tests.e2e.person import ANDROID_CHROME, IPHONE_MESSENGER, Person, button_urls
from tests.e2e.shots import DESKTOP, PHONE, capture

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUTTON = ".tmpl-button:has-text('Log in with Facebook')"
THANKS = "Thanks, you're logged in! Pages you like:"
SDK = "/sdk/messenger.Extensions.js"
# The bot works after the webhook's 200 and the simulator polls once a second.
SLOW = 15_000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def person(stack: Stack, client: httpx.AsyncClient) -> Person:
    """The first seeded person; the example bot lists 10 of their likes."""
    chosen = await Person.pick(stack, client)
    assert chosen.likes_count >= 10
    return chosen


# -- helpers ------------------------------------------------------------------------------


async def open_simulator(
    browser: Browser, stack: Stack, person: Person, view: str, **context: Any
) -> Page:
    """Opens the chat simulator like a newcomer: `/chat`, first person, the chosen view."""
    page = await (await browser.new_context(**context)).new_page()
    await page.goto(f"{stack.fb}/chat?view={view}")
    await expect(page.locator("#person-select")).to_have_value(person.psid)
    await expect(page.locator("body")).to_have_attribute("data-view", view)
    return page


async def say_hi(page: Page) -> Locator:
    """Types "hi" in the simulator; returns the bot's login button once it is rendered."""
    await page.fill("#message-input", "hi")
    await page.press("#message-input", "Enter")
    await expect(page.locator(".entry.in .bubble").last).to_have_text("hi")
    button = page.locator(BUTTON).last
    await expect(button).to_be_visible(timeout=SLOW)
    return button


async def login_url(person: Person) -> str:
    """Says hi through the control API; the button's URL from `/_fakebook/conversations`."""
    reply = await person.say_and_wait("hi")
    (url,) = button_urls(reply)
    assert "/auth/start?ticket=" in url
    return url


async def confirm(target: Page | FrameLocator, person: Person) -> None:
    """Our confirm page: says whose conversation this is, then Continue with Facebook."""
    await expect(target.locator(".who")).to_contain_text(f"made for {person.first_name}")
    await expect(target.locator("#continue")).to_have_text("Continue with Facebook")
    await target.locator("#continue").click()


async def dialog(target: Page | FrameLocator, person: Person, *, cancel: bool = False) -> None:
    """fakebook's Login dialog: the person is chosen, user_likes stays ticked; Continue/Cancel."""
    box = target.locator("#login-dialog")
    await expect(box).to_be_visible()
    await expect(box.locator(f"#person-{person.psid}")).to_be_checked()
    await expect(box.locator("#scope-user_likes")).to_be_checked()
    await box.locator("#cancel" if cancel else "#continue").click()


async def expect_likes(page: Page) -> None:
    """The bot's thanks with ten liked pages, one per line, in the simulator's thread."""
    bubble = page.locator(".entry.out .bubble", has_text=THANKS)
    await expect(bubble).to_be_visible(timeout=SLOW)
    text = await bubble.text_content() or ""
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert len(lines) == 10, text


def is_callback(url: str) -> bool:
    return "/auth/callback?" in url


async def fits_width(page: Page) -> bool:
    """No horizontal scrolling: the page fits the viewport it is shown in."""
    fits: bool = await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    return fits


# -- 1. desktop: the simulator opens a tab, which closes itself ----------------------------


async def test_desktop_tab_opened_by_the_simulator_closes_itself(
    browser: Browser, stack: Stack, person: Person
) -> None:
    page = await open_simulator(browser, stack, person, "desktop", **DESKTOP)
    button = await say_hi(page)
    await expect(page.locator(".tmpl-text").last).to_contain_text("Log in with Facebook")

    async with page.context.expect_page() as opened:
        await button.click()
    tab = await opened.value
    visited: list[str] = []
    tab.on("framenavigated", lambda frame: visited.append(frame.url))
    await tab.wait_for_load_state()
    assert tab.url.startswith(f"{stack.bot.url}/auth/start?ticket=")
    await confirm(tab, person)

    async with tab.expect_event("close", timeout=SLOW):
        async with tab.expect_response(lambda r: is_callback(r.url)) as landed:
            await dialog(tab, person)
        done = await landed.value
        assert done.status == 200  # our done page, not a redirect
    assert tab.is_closed()
    assert any(is_callback(url) for url in visited)
    assert not any("/m.me/" in url for url in visited)

    await page.bring_to_front()
    await expect_likes(page)
    await capture(page, "login-chat")
    await page.context.close()


# -- 2. desktop: a tab the script did not open can't close; it says so and links back -------


async def test_desktop_tab_not_opened_by_script_shows_the_way_back(
    browser: Browser, stack: Stack, person: Person
) -> None:
    url = await login_url(person)
    context = await browser.new_context(**DESKTOP)
    page = await context.new_page()
    await page.goto(url)
    await confirm(page, person)
    await dialog(page, person)
    await page.wait_for_url(lambda u: is_callback(u))

    back = f"{stack.fb}/m.me/{PAGE_ID}"
    box = page.locator("#return")
    await expect(box).to_have_attribute("data-client", "desktop")
    await expect(page.locator("h1")).to_have_text("You're logged in")
    await expect(page.locator("#fallback")).to_be_visible()
    await expect(page.locator("#fallback")).to_contain_text("This tab can't close itself")
    await expect(page.locator("#closing")).to_be_hidden()
    link = page.locator("#back")
    await expect(link).to_be_visible()
    await expect(link).to_have_text("Back to Messenger")
    await expect(link).to_have_attribute("href", back)
    assert not page.is_closed()

    # The link leads back to the conversation (fakebook serves m.me as the simulator).
    await link.click()
    await page.wait_for_url(f"{stack.fb}/chat**")
    await expect_likes(page)
    await context.close()


# -- 3. phone view: the in-page webview runs the flow and is closed through the SDK shim -----


async def test_phone_view_webview_is_closed_through_messenger_extensions(
    browser: Browser, stack: Stack, person: Person
) -> None:
    page = await open_simulator(browser, stack, person, "phone", **PHONE)
    button = await say_hi(page)
    await button.click()
    overlay = page.locator("#webview")
    await expect(overlay).to_be_visible()
    frame = page.frame_locator("#webview-frame")
    await expect(frame.locator("#continue")).to_be_visible()
    await capture(page, "login-webview")
    await confirm(frame, person)

    def from_webview(request: Request) -> bool:
        return request.frame.name == "messenger-webview"

    async with page.expect_request(
        lambda r: r.url.endswith(SDK) and from_webview(r),
        timeout=SLOW,
    ) as sdk_loaded:
        async with page.expect_response(
            lambda r: is_callback(r.url) and from_webview(r.request)
        ) as landed:
            await dialog(frame, person)
        done = await landed.value
        assert done.status == 200
        assert done.frame.parent_frame == page.main_frame  # framed, not top level
    assert (await sdk_loaded.value).frame.parent_frame == page.main_frame

    await expect(overlay).to_be_hidden(timeout=SLOW)
    await expect(page.locator("#webview-frame")).to_have_attribute("src", "about:blank")
    assert page.url.startswith(f"{stack.fb}/chat")  # the simulator itself never navigated
    await expect_likes(page)
    await capture(page, "login-chat")
    await page.context.close()


# -- 4. Messenger's iOS in-app browser, top level: the SDK refuses, so m.me ------------------


async def test_messenger_in_app_browser_falls_back_to_m_me(
    browser: Browser, stack: Stack, person: Person
) -> None:
    url = await login_url(person)
    context = await browser.new_context(
        user_agent=IPHONE_MESSENGER, is_mobile=True, has_touch=True, **PHONE
    )
    page = await context.new_page()
    await page.goto(url)
    await confirm(page, person)

    back = f"{stack.fb}/m.me/{PAGE_ID}"
    async with (
        page.expect_request(back, timeout=SLOW) as went_back,
        page.expect_request(lambda r: r.url.endswith(SDK)) as sdk_loaded,
    ):
        async with page.expect_response(lambda r: is_callback(r.url)) as landed:
            await dialog(page, person)
        done = await landed.value
        assert done.status == 200  # the webview-closing page, not a 302
    # Our page tried Messenger Extensions at the top level (no simulator around it)…
    assert (await sdk_loaded.value).frame == page.main_frame
    assert page.main_frame.parent_frame is None
    # …and, refused, navigated itself to m.me (location.replace): not a redirect of ours.
    assert (await went_back.value).redirected_from is None
    assert (await went_back.value).frame == page.main_frame

    # fakebook serves m.me as the chat simulator, on the conversation that just logged in.
    await page.wait_for_url(f"{stack.fb}/chat**")
    await expect(page.locator("#person-select")).to_have_value(person.psid)
    await expect_likes(page)
    await context.close()


# -- 5. a phone browser: the callback 302s straight to m.me ---------------------------------


async def test_phone_browser_is_redirected_to_m_me(
    browser: Browser, stack: Stack, person: Person
) -> None:
    url = await login_url(person)
    context = await browser.new_context(
        user_agent=ANDROID_CHROME, is_mobile=True, has_touch=True, **PHONE
    )
    page = await context.new_page()
    await page.goto(url)
    await confirm(page, person)

    back = f"{stack.fb}/m.me/{PAGE_ID}"
    async with page.expect_request(back, timeout=SLOW) as went_back:
        await dialog(page, person)
    hop = (await went_back.value).redirected_from
    assert hop is not None
    assert is_callback(hop.url)
    answer = await hop.response()
    assert answer is not None
    assert answer.status == 302
    assert answer.headers["location"] == back

    await page.wait_for_url(f"{stack.fb}/chat**")
    await expect_likes(page)
    await context.close()


# -- 6. denied: Cancel in the dialog -----------------------------------------------------------


async def test_cancel_shows_you_didnt_log_in_and_the_bot_says_no_problem(
    browser: Browser, stack: Stack, person: Person
) -> None:
    page = await open_simulator(browser, stack, person, "desktop", **DESKTOP)
    button = await say_hi(page)
    async with page.context.expect_page() as opened:
        await button.click()
    tab = await opened.value
    await confirm(tab, person)
    await dialog(tab, person, cancel=True)
    await tab.wait_for_url(lambda u: is_callback(u))

    await expect(tab.locator("h1")).to_have_text("You didn't log in")
    await expect(tab.locator(".reason code")).to_have_text("access_denied")
    await expect(tab.get_by_role("link", name="Back to Messenger")).to_have_attribute(
        "href", f"{stack.fb}/m.me/{PAGE_ID}"
    )
    assert not tab.is_closed()

    await page.bring_to_front()
    no_problem = page.locator(".entry.out .bubble", has_text="No problem")
    await expect(no_problem).to_be_visible(timeout=SLOW)
    await expect(page.locator(".entry.out .bubble", has_text=THANKS)).to_have_count(0)
    await page.context.close()


# -- screenshots: our pages at a phone and a desktop size ----------------------------------


@pytest.mark.parametrize("size", ["phone", "desktop"])
async def test_our_pages_fit_and_are_captured(
    browser: Browser, stack: Stack, person: Person, size: str
) -> None:
    context: BrowserContext = await browser.new_context(**(PHONE if size == "phone" else DESKTOP))
    page = await context.new_page()

    # The confirm page.
    await page.goto(await login_url(person))
    await expect(page.locator("#continue")).to_be_visible()
    await expect(page.locator("#continue")).to_be_in_viewport()
    assert await fits_width(page)
    await capture(page, "login-confirm", full_page=True)

    # The done page (this tab was not opened by script: it shows the way back).
    await confirm(page, person)
    await dialog(page, person)
    await page.wait_for_url(lambda u: is_callback(u))
    await expect(page.locator("#back")).to_be_visible()
    await expect(page.locator("#back")).to_be_in_viewport()
    assert await fits_width(page)
    await capture(page, "login-done", full_page=True)

    # An error page.
    answer = await page.goto(f"{stack.bot.url}/auth/start?ticket=garbage")
    assert answer is not None
    assert answer.status == 400
    await expect(page.locator("h1")).to_have_text("This login link isn't valid")
    await expect(page.locator(".reason code")).to_have_text("ticket_invalid")
    await expect(page.get_by_role("link", name="Back to Messenger")).to_be_in_viewport()
    assert await fits_width(page)
    await capture(page, "login-error", full_page=True)
    assert re.search(r"/auth/start\?ticket=garbage$", page.url)
    await context.close()

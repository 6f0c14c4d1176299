"""Account linking in a real Chromium, as a newcomer does it in ``botperms demo --flow
account_link``: link in the simulator's phone view, see the likes, log out from the persistent
menu, remove the app and delete the data on fakebook's settings page. Afterwards the bot's
database holds nothing of the person. On the way it saves the README's account-linking
screenshots at a phone and a desktop size (the simulator's phone view at both)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.async_api import Browser, expect

from botperms.demo import EXAMPLE_PROFILE
from botperms.graph import GraphClient
from botperms.profile_cmd import profile_for, sync_profile
from tests.e2e.conftest import Stack
from tests.e2e.person import Person
from tests.e2e.shots import capture
from tests.e2e.test_browser import PHONE, SLOW, browser  # noqa: F401 (fixture)
from tests.e2e.test_linking import PERSON_TABLES, rows_about

pytestmark = pytest.mark.browser


async def test_link_likes_log_out_remove_and_delete_in_the_simulator(
    make_stack: Callable[..., Stack],
    client: httpx.AsyncClient,
    browser: Browser,  # noqa: F811
) -> None:
    stack = make_stack({"login_flow": "account_link"})
    # The example bot's Messenger Profile, as `botperms demo` applies it: the menu has Log out.
    graph = GraphClient.from_settings(stack.settings)
    desired = profile_for(stack.settings, EXAMPLE_PROFILE)
    await sync_profile(graph, stack.settings.page_token.get_secret_value(), desired)
    await graph.aclose()
    person = await Person.pick(stack, client, 1)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    await page.goto(f"{stack.fb}/chat?person={person.psid}&view=phone")

    await page.get_by_placeholder("Aa").fill("likes")
    await page.get_by_role("button", name="Send").click()
    # Messenger labels the account_link button "Log in"; the other one is the web login.
    link_button = page.get_by_role("button", name="Log in", exact=True)
    await expect(link_button).to_be_visible(timeout=SLOW)
    await expect(page.get_by_role("button", name="Log in on a computer")).to_be_visible()
    await capture(page, "link-prompt", "phone", "desktop")
    await link_button.click()

    dialog = page.frame_locator("iframe").last
    await dialog.get_by_label(f"{person.first_name}", exact=False).first.check()
    await capture(page, "link-dialog", "phone", "desktop")
    await dialog.get_by_role("button", name="Continue").click()
    await expect(dialog.get_by_text("Your account is linked")).to_be_visible(timeout=SLOW)
    await expect(page.get_by_text("• ").first).to_be_visible(timeout=SLOW)
    await expect(page.get_by_text("Your Facebook account is now linked")).to_be_visible()
    await capture(page, "link-linked", "phone", "desktop")

    # Log out from the persistent menu.
    await dialog.get_by_role("link", name="Return to the conversation").click()
    await page.get_by_role("button", name="Menu").click()
    await page.get_by_role("button", name="Log out").click()
    await page.get_by_role("button", name="Just log out").click()
    await expect(page.get_by_text("You're logged out")).to_be_visible(timeout=SLOW)

    # fakebook's Settings & Privacy → Apps and Websites.
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_role("button", name="Remove this app").click()
    await expect(page.get_by_text("was removed")).to_be_visible()
    await page.get_by_role("button", name="Delete my data").click()
    await expect(page.get_by_text("Deletion requested")).to_be_visible()
    status_link = page.get_by_role("link", name="/deletion?id=")
    status_url = await status_link.get_attribute("href")
    assert status_url is not None
    status = await client.get(status_url)
    assert "Your data has been deleted" in status.text
    assert rows_about(stack, person.psid) == dict.fromkeys(PERSON_TABLES, 0)
    await context.close()

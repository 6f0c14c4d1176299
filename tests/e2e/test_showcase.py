"""The example bot as a showcase, over real loopback HTTP: Get Started, the menu's "My likes",
"Log in" and "Log out" (with the choice to remove the app on Facebook too)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.e2e.conftest import Stack, eventually
from tests.e2e.person import DESKTOP_CHROME, IPHONE_MESSENGER, Person, button_urls
from tests.e2e.test_login_flow import grants, likes_lines


async def facebook_grants(person: Person) -> list[str]:
    url = f"{person.stack.fb}/_fakebook/grants/{person.asid}"
    granted: list[str] = (await person.http.get(url)).json().get("granted", [])
    return granted


async def test_get_started_greets_by_first_name_and_offers_the_menu(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    hello = await person.press_and_wait("Get Started", "GET_STARTED")
    assert hello["text"].startswith(f"Hi {person.first_name}!")
    payloads = [reply["payload"] for reply in hello["quick_replies"]]
    assert payloads == ["MY_LIKES", "LOG_IN"]


async def test_my_likes_from_the_menu_logs_in_then_answers(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    prompt = await person.press_and_wait("My likes", "MY_LIKES")
    (url,) = button_urls(prompt)
    before = len(await person.received())
    await person.open_login(url, user_agent=DESKTOP_CHROME)
    answer = await person.wait_for_reply(before, "the likes after login")
    assert answer["text"].startswith("Pages you like:")
    assert len(likes_lines(answer)) == min(10, person.likes_count)

    # Logged in now: the menu's "My likes" answers at once, "Log in" says so.
    again = await person.press_and_wait("My likes", "MY_LIKES")
    assert likes_lines(again) == likes_lines(answer)
    already = await person.press_and_wait("Log in", "LOG_IN")
    assert already["text"] == "You're already logged in."


async def test_log_in_from_the_menu_then_just_log_out_keeps_facebook_untouched(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    prompt = await person.press_and_wait("Log in", "LOG_IN")
    (url,) = button_urls(prompt)
    before = len(await person.received())
    await person.open_login(url, user_agent=DESKTOP_CHROME)
    thanks = await person.wait_for_reply(before, "the thanks after login")
    assert thanks["text"].startswith("Thanks, you're logged in!")

    question = await person.press_and_wait("Log out", "LOG_OUT")
    titles = {reply["payload"]: reply["title"] for reply in question["quick_replies"]}
    assert titles == {"LOG_OUT_HERE": "Just log out", "LOG_OUT_EVERYWHERE": "Also remove on FB"}
    assert "attachment" not in question  # no account_unlink button in the web flow
    bye = await person.tap_and_wait("Just log out", "LOG_OUT_HERE")
    assert bye["text"] == "You're logged out: I've deleted your Facebook token."
    assert [row[2] for row in grants(stack)] == ["revoked"]
    assert "user_likes" in await facebook_grants(person)  # the person chose to keep it there

    not_in = await person.press_and_wait("Log out", "LOG_OUT")
    assert not_in["text"] == "You weren't logged in."


# -- the account_link flow ---------------------------------------------------------------------


async def link_through_messenger(person: Person, button_url: str) -> httpx.Response:
    """Tap the account_link button (fakebook mints the token), log in, follow the redirects back
    to fakebook's redirect page, which sends the `linked` webhook."""
    minted = await person.http.post(
        f"{person.stack.fb}/_fakebook/linking/{person.psid}/token", json={"url": button_url}
    )
    assert minted.status_code == 200, minted.text
    headers = {"User-Agent": IPHONE_MESSENGER}
    start = await person.http.get(minted.json()["url"], headers=headers)
    assert start.status_code == 302, start.text
    callback = await person.use_dialog(start.headers["location"], headers)
    back = await person.http.get(callback, headers=headers)
    assert back.status_code in (302, 303), back.text
    assert "authorization_code=" in back.headers["location"]
    return await person.http.get(back.headers["location"], headers=headers)


async def test_account_link_flow_links_lists_likes_and_unlinks_from_the_menu(
    make_stack: Callable[..., Stack], client: httpx.AsyncClient
) -> None:
    stack = make_stack({"login_flow": "account_link"})
    person = await Person.pick(stack, client)
    prompt = await person.press_and_wait("My likes", "MY_LIKES")
    link, browser = prompt["attachment"]["payload"]["buttons"]
    assert link["type"] == "account_link"
    assert link["url"] == f"{stack.bot.url}/link/start?scope=user_likes"
    # For messenger.com and facebook.com, where account linking does not work.
    assert (browser["type"], browser["title"]) == ("web_url", "Log in on a computer")

    before = len(await person.received())
    page = await link_through_messenger(person, link["url"])
    assert page.status_code == 200
    linked = await person.wait_for_reply(before, "the confirmation of the link")
    assert linked["text"] == "Your Facebook account is now linked to this conversation."
    answer = await person.wait_for_reply(before + 1, "the likes that waited for the link")
    assert answer["text"].startswith("Pages you like:")
    assert len(likes_lines(answer)) == min(10, person.likes_count)
    assert [row[2] for row in grants(stack)] == ["active"]

    # Log out from the menu: Messenger's own unlink button, or our choices.
    question = await person.press_and_wait("Log out", "LOG_OUT")
    buttons = question["attachment"]["payload"]["buttons"]
    assert buttons == [{"type": "account_unlink"}]
    bye = await person.tap_and_wait("Also remove on FB", "LOG_OUT_EVERYWHERE")
    assert bye["text"] == "You're logged out, and the app's access on Facebook is removed."
    assert [row[2] for row in grants(stack)] == ["revoked"]
    assert "user_likes" not in await facebook_grants(person)

    async def unlinked() -> bool:
        url = f"{stack.fb}/_fakebook/linking/{person.psid}"
        outcomes = (await client.get(url)).json()
        return bool(outcomes) and outcomes[-1]["status"] == "unlinked"

    await eventually(unlinked, what="the unlink on Messenger's side")
    # Its `unlinked` webhook finds no grant: no second goodbye. Checked after a later message,
    # which is handled after the webhook.
    after = await person.say_and_wait("hello")
    assert after["attachment"]["payload"]["buttons"][0]["type"] == "account_link"
    texts = [m.get("text", "") for m in await person.received()]
    assert not any("no longer linked" in text for text in texts)


async def test_the_account_unlink_button_ends_the_grant_and_says_goodbye(
    make_stack: Callable[..., Stack], client: httpx.AsyncClient
) -> None:
    stack = make_stack({"login_flow": "account_link"})
    person = await Person.pick(stack, client)
    prompt = await person.press_and_wait("Log in", "LOG_IN")
    link = prompt["attachment"]["payload"]["buttons"][0]
    before = len(await person.received())
    await link_through_messenger(person, link["url"])
    await person.wait_for_reply(before + 1, "the thanks after linking")

    before = len(await person.received())
    tapped = await client.post(
        f"{stack.fb}/_fakebook/linking/{person.psid}/unlink", params={"wait": "true"}
    )
    assert tapped.status_code == 200, tapped.text
    goodbye = await person.wait_for_reply(before, "the goodbye after unlinking")
    assert "no longer linked" in goodbye["text"]
    assert [row[2] for row in grants(stack)] == ["revoked"]


async def test_account_link_flow_on_a_computer_uses_the_browser_button(
    make_stack: Callable[..., Stack], client: httpx.AsyncClient
) -> None:
    stack = make_stack({"login_flow": "account_link"})
    person = await Person.pick(stack, client)
    prompt = await person.say_and_wait("likes")
    (url,) = button_urls(prompt)  # the web_url one; the account_link button has no web URL
    before = len(await person.received())
    await person.open_login(url, user_agent=DESKTOP_CHROME)
    answer = await person.wait_for_reply(before, "the likes after the browser login")
    assert answer["text"].startswith("Pages you like:")
    assert [row[2] for row in grants(stack)] == ["active"]

"""The login-link flow end to end: the bot and fakebook as real servers on loopback ports."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx

from tests.e2e.conftest import PAGE_ID, Stack
from tests.e2e.person import (
    ANDROID_CHROME,
    DESKTOP_CHROME,
    IPHONE_MESSENGER,
    Person,
    button_urls,
    query,
)


def grants(stack: Stack) -> list[tuple[Any, ...]]:
    with sqlite3.connect(stack.db_path) as db:
        return db.execute(
            "SELECT psid, asid, status, scopes_granted, scopes_declined FROM grants ORDER BY id"
        ).fetchall()


def all_db_bytes(stack: Stack) -> bytes:
    data = b""
    for suffix in ("", "-wal"):
        path = stack.db_path.with_name(stack.db_path.name + suffix)
        if path.exists():
            data += path.read_bytes()
    return data


async def prompt_url(person: Person, text: str = "hi") -> str:
    reply = await person.say_and_wait(text)
    urls = button_urls(reply)
    assert len(urls) == 1, reply
    assert "/auth/start?ticket=" in urls[0]
    return urls[0]


def likes_lines(message: dict[str, Any]) -> list[str]:
    return [line for line in message.get("text", "").splitlines() if line.startswith("• ")]


async def logged_in(person: Person) -> dict[str, Any]:
    """Says hi, logs in on a desktop with everything granted; returns the bot's thanks."""
    url = await prompt_url(person)
    before = len(await person.received())
    await person.open_login(url, user_agent=DESKTOP_CHROME)
    thanks = await person.wait_for_reply(before, "the likes after login")
    assert thanks["text"].startswith("Thanks")
    return thanks


async def test_desktop_login_lists_likes_and_keeps_the_token_encrypted(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    before = len(await person.received())
    done = await person.open_login(url, user_agent=DESKTOP_CHROME)
    assert done.status_code == 200
    assert 'data-client="desktop"' in done.text
    assert f'data-back="{stack.fb}/m.me/{PAGE_ID}"' in done.text

    reply = await person.wait_for_reply(before, "the likes after login")
    assert reply["text"].startswith("Thanks, you're logged in!")
    assert len(likes_lines(reply)) == min(10, person.likes_count)

    rows = grants(stack)
    assert len(rows) == 1
    psid, asid, status, granted, _ = rows[0]
    assert (psid, asid, status) == (person.psid, person.asid, "active")
    assert "user_likes" in granted
    # Facebook user tokens start with EAA; none may sit in the database in the clear.
    assert b"EAA" not in all_db_bytes(stack)


async def test_phone_browser_goes_back_to_m_me(stack: Stack, client: httpx.AsyncClient) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    done = await person.open_login(url, user_agent=ANDROID_CHROME)
    assert done.status_code == 302
    assert done.headers["location"] == f"{stack.fb}/m.me/{PAGE_ID}"
    assert [row[2] for row in grants(stack)] == ["active"]


async def test_messenger_in_app_browser_gets_the_webview_closing_page(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    done = await person.open_login(url, user_agent=IPHONE_MESSENGER)
    assert done.status_code == 200
    assert 'data-client="messenger_app"' in done.text
    assert f'data-sdk="{stack.fb}/sdk/messenger.Extensions.js"' in done.text
    sdk = await client.get(f"{stack.fb}/sdk/messenger.Extensions.js")
    assert "requestCloseBrowser" in sdk.text


async def test_likes_again_then_logout_forgets_and_revokes(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    await logged_in(person)
    again = await person.say_and_wait("likes")
    assert again["text"].startswith("Pages you like:")
    assert len(likes_lines(again)) == min(10, person.likes_count)

    question = await person.say_and_wait("logout")
    choices = {reply["payload"]: reply["title"] for reply in question["quick_replies"]}
    assert set(choices) == {"LOG_OUT_HERE", "LOG_OUT_EVERYWHERE"}
    assert [row[2] for row in grants(stack)] == ["active"]  # only asked so far
    bye = await person.tap_and_wait(choices["LOG_OUT_EVERYWHERE"], "LOG_OUT_EVERYWHERE")
    assert "logged out" in bye["text"]
    assert [row[2] for row in grants(stack)] == ["revoked"]
    granted = (await client.get(f"{stack.fb}/_fakebook/grants/{person.asid}")).json()
    assert "user_likes" not in str(granted.get("granted", []))

    # Logged out: asking for likes brings the login prompt back.
    prompt = await person.say_and_wait("likes")
    assert button_urls(prompt)


async def test_cancel_is_a_clear_page_and_a_kind_message(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    before = len(await person.received())
    page = await person.open_login(url, user_agent=DESKTOP_CHROME, cancel=True)
    assert page.status_code == 200
    assert "You didn&#39;t log in" in page.text or "You didn't log in" in page.text
    assert "access_denied" in page.text
    reply = await person.wait_for_reply(before, "the denial message")
    assert "No problem" in reply["text"]
    assert grants(stack) == []


async def test_declined_scope_is_explained_and_re_asked_with_rerequest(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    before = len(await person.received())
    done = await person.open_login(url, user_agent=DESKTOP_CHROME, grant=("public_profile",))
    assert done.status_code == 200
    assert "user_likes" in done.text  # the page names what was not shared
    reask = await person.wait_for_reply(before, "the re-ask")
    assert "didn't share your likes" in reask["attachment"]["payload"]["text"]
    (reask_url,) = button_urls(reask)
    _, _, status, _, declined = grants(stack)[0]
    assert status == "active"
    assert "user_likes" in declined

    # The re-ask sends auth_type=rerequest to the dialog; granting now lists the likes.
    confirm = await client.get(reask_url, headers={"User-Agent": DESKTOP_CHROME})
    assert "Share your likes" in confirm.text
    before = len(await person.received())
    done = await person.open_login(reask_url, user_agent=DESKTOP_CHROME, grant=("user_likes",))
    assert done.status_code == 200
    reply = await person.wait_for_reply(before, "likes after the re-ask")
    assert reply["text"].startswith("Thanks, you're logged in!")
    assert [row[2] for row in grants(stack)] == ["replaced", "active"]


async def test_rerequest_reaches_the_dialog(stack: Stack, client: httpx.AsyncClient) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    await person.open_login(url, user_agent=DESKTOP_CHROME, grant=("public_profile",))
    reask = await person.wait_for_reply(1, "the re-ask")
    (reask_url,) = button_urls(reask)
    dialog = await person.start(reask_url, user_agent=DESKTOP_CHROME)
    assert query(dialog)["auth_type"] == ["rerequest"]
    assert query(dialog)["scope"] == ["user_likes"]
    assert query(dialog)["code_challenge_method"] == ["S256"]

"""Account linking end to end over loopback HTTP: link, likes, unlink, remove the app, delete.

fakebook plays Messenger's part (the account_link tap with a real-shaped token, its own
redirect_uri, the signed ``account_linking`` webhook) and Facebook's (the Login dialog, the PSID
look-up, the deauthorize and data-deletion callbacks with real ``signed_request`` values).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from botperms.messenger import sign_body
from tests.e2e.conftest import APP_SECRET, PAGE_ID, Stack, eventually
from tests.e2e.person import IPHONE_MESSENGER, Person

PERSON_TABLES = (
    "messenger_users",
    "grants",
    "link_codes",
    "pending_intents",
    "login_attempts",
    "inbox",
    "outbox",
    "user_profiles",
)


@pytest.fixture
def linking_stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack({"login_flow": "account_link"})


def rows_about(stack: Stack, psid: str) -> dict[str, int]:
    """What the demo's note shows: every table that can hold something of a person."""
    with sqlite3.connect(stack.db_path) as db:
        return {
            table: db.execute(f"SELECT count(*) FROM {table} WHERE psid = ?", (psid,)).fetchone()[0]
            for table in PERSON_TABLES
        }


def grant_statuses(stack: Stack, psid: str) -> list[str]:
    with sqlite3.connect(stack.db_path) as db:
        rows = db.execute("SELECT status FROM grants WHERE psid = ? ORDER BY id", (psid,))
        return [row[0] for row in rows]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = (
        message.get("attachment", {}).get("payload", {}).get("buttons", [])
    )
    return result


async def tap_account_link(person: Person, link_url: str) -> str:
    """The account_link button on a phone: Messenger appends its token and redirect_uri."""
    minted = await person.http.post(
        f"{person.stack.fb}/_fakebook/linking/{person.psid}/token", json={"url": link_url}
    )
    assert minted.status_code == 200, minted.text
    url: str = minted.json()["url"]
    return url


async def link_through_login(person: Person, opened_url: str) -> httpx.Response:
    """/link/start → Login dialog → our callback → Messenger's redirect_uri (followed)."""
    headers = {"User-Agent": IPHONE_MESSENGER}
    started = await person.http.get(opened_url, headers=headers)
    assert started.status_code == 302, started.text
    dialog = started.headers["location"]
    callback_url = await person.use_dialog(dialog, headers)
    back = await person.http.get(callback_url, headers=headers)
    assert back.status_code == 302, back.text
    return await person.http.get(back.headers["location"], headers=headers)


async def outcomes(person: Person) -> list[dict[str, Any]]:
    answer = await person.http.get(f"{person.stack.fb}/_fakebook/linking/{person.psid}")
    result: list[dict[str, Any]] = answer.json()
    return result


async def linked(person: Person) -> dict[str, Any]:
    """Says hi, taps Link account, logs in; returns the bot's likes message."""
    prompt = await person.say_and_wait("hi")
    kinds = [button["type"] for button in buttons(prompt)]
    assert kinds == ["account_link", "web_url"], prompt
    link_url = buttons(prompt)[0]["url"]
    assert urlsplit(link_url).path == "/link/start"
    before = len(await person.received())
    page = await link_through_login(person, await tap_account_link(person, link_url))
    assert page.status_code == 200
    assert [o["status"] for o in await outcomes(person)] == ["linked"]

    async def likes() -> dict[str, Any] | None:
        for message in (await person.received())[before:]:
            if "\n• " in message.get("text", ""):
                return message
        return None

    result: dict[str, Any] = await eventually(likes, what="the likes after linking")
    return result


async def test_link_see_likes_unlink_remove_the_app_and_delete_everything(
    linking_stack: Stack, client: httpx.AsyncClient
) -> None:
    """The issue's "done when", over real HTTP: afterwards the database holds nothing of them."""
    stack = linking_stack
    person = await Person.pick(stack, client)
    likes = await linked(person)
    assert likes["text"].count("• ") == min(10, person.likes_count)
    assert grant_statuses(stack, person.psid) == ["active"]

    # Unlink from the menu: Log out → "Just log out".
    before = len(await person.received())
    await client.post(
        f"{stack.fb}/_fakebook/chat/{person.psid}/postback",
        params={"wait": "true"},
        json={"title": "Log out", "payload": "LOG_OUT"},
    )
    question = await person.wait_for_reply(before, "the log-out question")
    assert any(b["type"] == "account_unlink" for b in buttons(question)), question
    before = len(await person.received())
    await client.post(
        f"{stack.fb}/_fakebook/chat/{person.psid}/message",
        params={"wait": "true"},
        json={"quick_reply": {"title": "Just log out", "payload": "LOG_OUT_HERE"}},
    )
    bye = await person.wait_for_reply(before, "the log-out answer")
    assert "logged out" in bye["text"]
    assert grant_statuses(stack, person.psid) == ["revoked"]

    async def unlinked_and_delivered() -> bool:
        last = (await outcomes(person))[-1]
        return last["status"] == "unlinked" and last.get("webhook") == "delivered"

    await eventually(unlinked_and_delivered, what="the unlink through the Graph API")

    # Remove the app in fakebook's settings: the deauthorize callback is called and accepted.
    removed = (
        await client.post(f"{stack.fb}/_fakebook/apps/remove", json={"psid": person.psid})
    ).json()
    assert removed["callback"]["ok"], removed
    assert removed["callback"]["status"] == 200

    # Ask for deletion: a confirmation code and a status page that says so.
    deleted = (
        await client.post(f"{stack.fb}/_fakebook/apps/delete-data", json={"psid": person.psid})
    ).json()
    callback = deleted["callback"]
    assert callback["ok"], callback
    answer = json.loads(callback["body"])
    status = await client.get(answer["url"])
    assert status.status_code == 200
    assert "Your data has been deleted" in status.text
    assert answer["confirmation_code"] in status.text

    assert rows_about(stack, person.psid) == dict.fromkeys(PERSON_TABLES, 0)


async def test_a_replayed_or_foreign_code_confirms_nothing(
    linking_stack: Stack, client: httpx.AsyncClient
) -> None:
    stack = linking_stack
    alice = await Person.pick(stack, client, 0)
    bob = await Person.pick(stack, client, 1)
    await linked(alice)
    code = (await outcomes(alice))[0]["authorization_code"]
    assert code

    async def deliver_linked(psid: str) -> int:
        body = json.dumps(
            {
                "object": "page",
                "entry": [
                    {
                        "id": PAGE_ID,
                        "time": 1,
                        "messaging": [
                            {
                                "sender": {"id": psid},
                                "recipient": {"id": PAGE_ID},
                                "timestamp": 1700000000000 + len(psid),
                                "account_linking": {
                                    "status": "linked",
                                    "authorization_code": code,
                                },
                            }
                        ],
                    }
                ],
            }
        ).encode()
        answer = await client.post(
            f"{stack.bot.url}/webhook",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign_body(APP_SECRET, body),
            },
        )
        return answer.status_code

    # Bob presents Alice's code: acknowledged (Facebook must not retry) but nothing confirmed.
    assert await deliver_linked(bob.psid) == 200
    # Alice's code a second time: refused as used.
    before = len(await alice.received())
    assert await deliver_linked(alice.psid) == 200

    async def processed() -> bool:
        with sqlite3.connect(stack.db_path) as db:
            pending = db.execute(
                "SELECT count(*) FROM inbox WHERE status IN ('pending', 'processing')"
            ).fetchone()[0]
        return pending == 0

    await eventually(processed, what="the inbox to drain")
    assert grant_statuses(stack, bob.psid) == []
    assert grant_statuses(stack, alice.psid) == ["active"]
    assert len(await alice.received()) == before  # no second greeting
    assert await bob.received() == []


async def test_an_open_redirect_attempt_gets_a_400_page_and_no_redirect(
    linking_stack: Stack, client: httpx.AsyncClient
) -> None:
    stack = linking_stack
    person = await Person.pick(stack, client)
    opened = await tap_account_link(person, stack.settings.url("/link/start"))
    query = parse_qs(urlsplit(opened).query)
    for evil in (
        "https://evil.example/messenger_platform/account_linking/",
        "https://www.facebook.com.evil.example/",
        "http://www.facebook.com/messenger_platform/account_linking/",
        "javascript:alert(1)",
    ):
        answer = await client.get(
            stack.settings.url("/link/start"),
            params={
                "account_linking_token": query["account_linking_token"][0],
                "redirect_uri": evil,
            },
        )
        assert answer.status_code == 400
        assert "location" not in answer.headers
        assert "link_redirect_invalid" in answer.text


async def test_an_expired_or_unknown_linking_token_goes_back_to_messenger_without_a_code(
    linking_stack: Stack, client: httpx.AsyncClient
) -> None:
    stack = linking_stack
    person = await Person.pick(stack, client)
    opened = await tap_account_link(person, stack.settings.url("/link/start"))
    query = parse_qs(urlsplit(opened).query)
    redirect_uri = query["redirect_uri"][0]
    answer = await client.get(
        stack.settings.url("/link/start"),
        params={"account_linking_token": "ARTforged-or-expired", "redirect_uri": redirect_uri},
    )
    assert answer.status_code == 302
    assert answer.headers["location"] == redirect_uri
    assert "authorization_code" not in answer.headers["location"]
    page = await client.get(answer.headers["location"])
    assert page.status_code == 200
    assert [o["status"] for o in await outcomes(person)] == ["cancelled"]
    assert grant_statuses(stack, person.psid) == []


async def test_unlinking_while_a_login_is_in_progress_links_nothing(
    linking_stack: Stack, client: httpx.AsyncClient
) -> None:
    stack = linking_stack
    person = await Person.pick(stack, client)
    headers = {"User-Agent": IPHONE_MESSENGER}
    opened = await tap_account_link(person, stack.settings.url("/link/start"))
    started = await client.get(opened, headers=headers)
    assert started.status_code == 302
    callback_url = await person.use_dialog(started.headers["location"], headers)

    # Before the callback arrives, the person taps Messenger's unlink button.
    unlinked = await client.post(
        f"{stack.fb}/_fakebook/linking/{person.psid}/unlink", params={"wait": "true"}
    )
    assert unlinked.json()["delivery"] == "delivered"

    async def attempt_cancelled() -> bool:
        with sqlite3.connect(stack.db_path) as db:
            outcome = db.execute(
                "SELECT outcome FROM login_attempts WHERE psid = ?", (person.psid,)
            ).fetchone()
        return outcome is not None and str(outcome[0]).startswith("cancelled")

    await eventually(attempt_cancelled, what="the bot to cancel the login in progress")
    back = await client.get(callback_url, headers=headers)
    assert back.status_code == 302
    assert "authorization_code" not in back.headers["location"]
    assert grant_statuses(stack, person.psid) == []


async def test_a_tampered_signed_request_changes_nothing(
    linking_stack: Stack, client: httpx.AsyncClient
) -> None:
    stack = linking_stack
    person = await Person.pick(stack, client)
    await linked(person)
    removed = (
        await client.post(f"{stack.fb}/_fakebook/apps/remove", json={"psid": person.psid})
    ).json()
    genuine = removed["callback"]["signed_request"]
    # One character of the signature changed (the first: every bit of it counts).
    tampered = ("B" if genuine[0] == "A" else "A") + genuine[1:]
    for path in ("/facebook/deauthorize", "/facebook/data-deletion"):
        answer = await client.post(stack.settings.url(path), data={"signed_request": tampered})
        assert answer.status_code == 400
    # The genuine one (from the removal above) revoked the grant; the tampered ones erased
    # nothing: the person's rows are all still there.
    assert grant_statuses(stack, person.psid) == ["revoked"]
    assert rows_about(stack, person.psid)["messenger_users"] == 1


async def test_deleting_a_person_who_never_linked(
    linking_stack: Stack, client: httpx.AsyncClient
) -> None:
    stack = linking_stack
    person = await Person.pick(stack, client, 2)
    deleted = (
        await client.post(f"{stack.fb}/_fakebook/apps/delete-data", json={"psid": person.psid})
    ).json()
    assert deleted["callback"]["ok"], deleted
    answer = json.loads(deleted["callback"]["body"])
    status = await client.get(answer["url"])
    assert status.status_code == 200
    assert "0 records" in status.text

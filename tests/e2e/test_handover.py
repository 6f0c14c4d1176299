"""The handover protocol end to end: the example bot passes a conversation to fakebook's Page
Inbox, stays quiet while a person answers (standby), and takes the conversation back, over real
loopback HTTP between the bot and fakebook."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx

from tests.e2e.conftest import APP_ID, Stack, eventually
from tests.e2e.person import Person

PAGE_INBOX = "263902037430900"


async def owner(stack: Stack, client: httpx.AsyncClient, person: Person) -> str:
    answer = (await client.get(f"{stack.fb}/_fakebook/threads/{person.psid}")).json()
    return str(answer["owner"])


def standby_rows(stack: Stack) -> list[tuple[Any, ...]]:
    with sqlite3.connect(stack.db_path) as db:
        return db.execute("SELECT kind, status FROM inbox WHERE standby = 1 ORDER BY id").fetchall()


async def bot_messages(person: Person) -> list[dict[str, Any]]:
    url = f"{person.stack.fb}/_fakebook/conversations/{person.psid}"
    entries = (await person.http.get(url)).json()
    return [e["message"] for e in entries if e["direction"] == "out" and e.get("from") is None]


async def test_talk_to_a_person_then_back_to_the_bot(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    alice = await Person.pick(stack, client)
    chat = f"{stack.fb}/_fakebook/chat/{alice.psid}"

    # The bot says it hands over, then passes the thread to the Page Inbox (in that order).
    answer = await alice.say_and_wait("talk to a person")
    assert "person from the page" in answer["text"]

    async def passed() -> bool:
        return await owner(stack, client, alice) == PAGE_INBOX

    await eventually(passed, what="the thread passed to the Page Inbox")
    state = (await client.get(chat)).json()
    assert state["thread_owner"] == PAGE_INBOX  # the simulator shows "a person is answering"

    # Alice writes while a person answers: it reaches the bot as standby, and the bot is quiet.
    quiet_before = len(await bot_messages(alice))
    await alice.say("is anyone there?")
    replied = await client.post(f"{chat}/inbox/reply?wait=1", json={"text": "Hi, I'm Sam."})
    assert replied.json()["delivery"] == "delivered"

    async def standby_done() -> list[tuple[Any, ...]] | None:
        rows = standby_rows(stack)
        return rows if len(rows) == 2 and all(s == "done" for _, s in rows) else None

    rows = await eventually(standby_done, what="the standby events handled")
    assert [kind for kind, _ in rows] == ["message", "echo"]
    assert len(await bot_messages(alice)) == quiet_before

    # Sam hands the conversation back: the bot hears pass_thread_control and greets Alice.
    before = len(await alice.received())
    back = await client.post(f"{chat}/inbox/hand_back?wait=1", json={})
    assert back.json()["owner"] == APP_ID
    welcome = await alice.wait_for_reply(before, "the bot's welcome back")
    assert welcome["text"].startswith("I'm back")
    assert await alice.say_and_wait("hello")  # the bot answers again (its login prompt)

    # Again, and this time Alice asks for the bot herself while in standby: it takes the thread.
    await alice.say_and_wait("talk to a person")
    await eventually(passed, what="the thread passed again")
    before = len(await alice.received())
    await alice.say("bot")
    taken = await alice.wait_for_reply(before, "the bot taking the thread back")
    assert taken["text"].startswith("I'm back")
    assert await owner(stack, client, alice) == APP_ID

    log = (await client.get(f"{stack.fb}/_fakebook/threads/{alice.psid}")).json()["log"]
    assert [(e["action"], e["by"]) for e in log] == [
        ("pass_thread_control", APP_ID),
        ("pass_thread_control", PAGE_INBOX),
        ("pass_thread_control", APP_ID),
        ("take_thread_control", APP_ID),
    ]

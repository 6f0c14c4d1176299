"""@requires end to end (web flow): a person asks for their likes before logging in, logs in,
and gets the answer without asking again, exactly once, over real loopback HTTP."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import httpx

from botperms.messenger import SIGNATURE_HEADER, sign_body
from tests.e2e.conftest import APP_SECRET, PAGE_ID, Stack
from tests.e2e.person import DESKTOP_CHROME, Person, button_urls
from tests.e2e.test_login_flow import grants, likes_lines

ASK_FIRST = "I need your permission to see your likes first."
HELP_START = 'Say "likes"'


def table(stack: Stack, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(stack.db_path) as db:
        return db.execute(sql).fetchall()


async def last_mid(person: Person, client: httpx.AsyncClient) -> str:
    """The mid fakebook gave the person's latest message (what Facebook would redeliver)."""
    entries = (await client.get(f"{person.stack.fb}/_fakebook/conversations/{person.psid}")).json()
    mid: str = [e for e in entries if e["direction"] == "in"][-1]["mid"]
    return mid


async def redeliver(stack: Stack, client: httpx.AsyncClient, person: Person, mid: str) -> None:
    """Facebook delivering the person's "likes" message a second time (same mid)."""
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "time": 1,
                    "messaging": [
                        {
                            "sender": {"id": person.psid},
                            "recipient": {"id": PAGE_ID},
                            "timestamp": 1,
                            "message": {"mid": mid, "text": "likes"},
                        }
                    ],
                }
            ],
        }
    ).encode()
    response = await client.post(
        f"{stack.bot.url}/webhook",
        content=body,
        headers={SIGNATURE_HEADER: sign_body(APP_SECRET, body), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text


async def test_likes_before_login_are_answered_after_login_exactly_once(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    prompt = await person.say_and_wait("likes")
    assert prompt["attachment"]["payload"]["text"] == ASK_FIRST
    (url,) = button_urls(prompt)
    assert table(stack, "SELECT psid, scopes, asks FROM pending_intents") == [
        (person.psid, '["user_likes"]', 1)
    ]
    mid = await last_mid(person, client)

    before = len(await person.received())
    done = await person.open_login(url, user_agent=DESKTOP_CHROME)
    assert done.status_code == 200
    answer = await person.wait_for_reply(before, "the likes, without asking again")
    # The replayed request answers; on_login stays quiet because a request was waiting.
    assert answer["text"].startswith("Pages you like:")
    assert len(likes_lines(answer)) == min(10, person.likes_count)
    assert [row[2] for row in grants(stack)] == ["active"]

    # Facebook redelivers the original message, then the person says something else. Events
    # of a conversation are handled in order, so once the answer to "thanks" is here, any
    # second replay or second answer would be here too.
    await redeliver(stack, client, person, mid)
    after = await person.say_and_wait("thanks")
    assert after["text"].startswith(HELP_START)

    messages = await person.received()
    assert [m for m in messages if likes_lines(m)] == [answer]
    assert not any(m.get("text", "").startswith("Thanks, you're logged in") for m in messages)
    assert table(stack, "SELECT count(*) FROM pending_intents") == [(0,)]
    kinds = table(stack, "SELECT kind, status FROM inbox ORDER BY id")
    assert kinds.count(("replay", "done")) == 1
    assert all(status == "done" for _, status in kinds)


async def test_declining_is_explained_re_asked_and_then_left_alone(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    prompt = await person.say_and_wait("likes")
    (url,) = button_urls(prompt)
    texts: list[str] = []
    for _ in range(3):  # the first ask, then the two re-asks a Bot allows by default
        before = len(await person.received())
        await person.open_login(url, user_agent=DESKTOP_CHROME, grant=("public_profile",))
        reply = await person.wait_for_reply(before, "the answer to a declined login")
        texts.append(reply.get("text") or reply["attachment"]["payload"]["text"])
        urls = button_urls(reply)
        url = urls[0] if urls else ""
    assert [text.startswith("You didn't share your likes") for text in texts] == [
        True,
        True,
        False,
    ]
    assert 'say "log in"' in texts[2]
    assert url == ""  # no button in the last message: the bot stopped asking
    assert table(stack, "SELECT count(*) FROM pending_intents") == [(0,)]

    # Coming back later works as the last message said.
    again = await person.say_and_wait("log in")
    assert button_urls(again)

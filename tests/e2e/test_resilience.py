"""Restarts, expired tokens and Facebook errors while the bot talks to a person."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import httpx

from botperms.app import create_app
from botperms.examples.likes_bot import bot as example_bot
from tests.e2e.conftest import Stack, eventually
from tests.e2e.person import Person, button_urls
from tests.e2e.servers import ServerThread
from tests.e2e.test_login_flow import grants, logged_in


def inbox_statuses(stack: Stack) -> list[str]:
    with sqlite3.connect(stack.db_path) as db:
        return [row[0] for row in db.execute("SELECT status FROM inbox ORDER BY id")]


async def test_events_acknowledged_before_a_restart_are_handled_after_it(
    make_stack: Callable[..., Stack], client: httpx.AsyncClient
) -> None:
    # A bot whose workers never run: it acknowledges and stores, then "crashes".
    stack = make_stack(run_workers=False)
    person = await Person.pick(stack, client)
    result = await person.say("hi")
    assert result["webhook_status"] == 200
    assert inbox_statuses(stack) == ["pending"]
    assert await person.received() == []
    stack.bot.stop()

    restarted = ServerThread(create_app(stack.settings, example_bot), stack.bot.port).start()
    try:
        reply = await person.wait_for_reply(0, "the answer after the restart")
        assert button_urls(reply)
        assert inbox_statuses(stack) == ["done"]
    finally:
        restarted.stop()


async def test_an_expired_token_brings_the_login_prompt_back(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    await logged_in(person)
    expired = await client.post(f"{stack.fb}/_fakebook/tokens/expire", json={"asid": person.asid})
    assert expired.status_code == 200
    reply = await person.say_and_wait("likes")
    assert "expired" in reply["attachment"]["payload"]["text"]
    assert button_urls(reply)
    assert [row[2] for row in grants(stack)] == ["expired"]


async def test_facebook_failing_on_likes_gets_a_polite_answer(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    await logged_in(person)
    fault = {
        "path_contains": "/likes",
        "error": {"code": 2, "message": "Service temporarily unavailable", "http_status": 503},
        "times": None,
    }
    assert (await client.post(f"{stack.fb}/_fakebook/faults", json=fault)).status_code == 200
    reply = await person.say_and_wait("likes")
    assert "didn't answer" in reply["text"]
    assert [row[2] for row in grants(stack)] == ["active"]  # a Graph hiccup keeps the grant


async def test_a_send_facebook_refuses_is_dead_lettered_with_its_reason(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    fault = {
        "path_contains": "/me/messages",
        "error": {
            "code": 551,
            "message": "This person isn't available right now.",
            "http_status": 400,
        },
        "times": None,
    }
    await client.post(f"{stack.fb}/_fakebook/faults", json=fault)
    await person.say("hi")

    async def dead_letter() -> list[tuple[str, str]]:  # once the send has been tried
        with sqlite3.connect(stack.db_path) as db:
            rows = db.execute("SELECT status, last_error FROM outbox").fetchall()
        return rows if rows and rows[0][0] not in ("pending", "sending") else []

    [(status, error)] = await eventually(dead_letter, what="the dead letter")
    assert status == "dead"
    assert "isn't available" in error

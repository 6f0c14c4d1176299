"""No login ticket at rest: the outbox keeps a reference, the chat gets a link that works."""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.e2e.conftest import Stack
from tests.e2e.person import DESKTOP_CHROME, Person
from tests.e2e.test_login_flow import all_db_bytes, grants, prompt_url

HEADERS = {"User-Agent": DESKTOP_CHROME}


def outbox_payloads(stack: Stack) -> list[str]:
    with sqlite3.connect(stack.db_path) as db:
        return [row[0] for row in db.execute("SELECT payload FROM outbox ORDER BY id")]


async def test_the_outbox_holds_a_reference_and_the_sent_link_logs_in(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    ticket = parse_qs(urlsplit(url).query)["ticket"][0]
    signature = ticket.rsplit(".", 1)[-1]

    payloads = outbox_payloads(stack)
    prompts = [p for p in payloads if "web_url" in p]
    assert len(prompts) == 1
    button = json.loads(prompts[0])["attachment"]["payload"]["buttons"][0]
    assert button["url"].startswith(f"{stack.settings.public_url}/auth/start?ticket_ref=")
    assert not any("ticket=" in p for p in payloads)
    # Nowhere in the database file (or its WAL): neither the ticket nor its signature.
    data = all_db_bytes(stack)
    assert ticket.encode() not in data
    assert signature.encode() not in data

    # The link the person got works: the confirm page, then a login to the end.
    confirm = await client.get(url, headers=HEADERS)
    assert confirm.status_code == 200
    assert "Continue" in confirm.text
    before = len(await person.received())
    done = await person.open_login(url, user_agent=DESKTOP_CHROME)
    assert done.status_code == 200
    await person.wait_for_reply(before, "the likes after login")
    assert [row[2] for row in grants(stack)] == ["active"]

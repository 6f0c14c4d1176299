"""The login funnel after real logins through fakebook: ``botperms stats --json`` (a second
process reading the bot's database) and ``/metrics`` count what the people did, per flow and
client kind, and nothing in the funnel's table says who."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Stack
from tests.e2e.person import (
    ANDROID_CHROME,
    DESKTOP_CHROME,
    IPHONE_MESSENGER,
    Person,
    button_urls,
)
from tests.e2e.test_linking import linked
from tests.e2e.test_login_flow import prompt_url
from tests.e2e.test_tokens_check import run_cli

Key = tuple[str, str, str, str]  # flow, client kind, step, reason


def stats(stack: Stack, *args: str) -> dict[str, Any]:
    done = run_cli(stack, "stats", "--json", *args)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


async def funnel_metrics(client: httpx.AsyncClient, stack: Stack) -> dict[Key, float]:
    text = (await client.get(f"{stack.bot.url}/metrics")).text
    found: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "botperms_login_funnel_total":
                labels = sample.labels
                key = (labels["flow"], labels["client_kind"], labels["step"], labels["reason"])
                found[key] = sample.value
    return found


def delta(after: dict[Key, float], before: dict[Key, float]) -> dict[Key, float]:
    """What this test added (the counters are per process, shared with earlier tests)."""
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


async def prompts_received(person: Person, kind: str) -> int:
    """Login prompts in the person's chat: a template with a button of ``kind``."""
    count = 0
    for message in await person.received():
        buttons = message.get("attachment", {}).get("payload", {}).get("buttons", [])
        if kind == "account_link" and any(b.get("type") == "account_link" for b in buttons):
            count += 1
        elif kind == "web" and not any(b.get("type") == "account_link" for b in buttons):
            count += any("/auth/start" in url for url in button_urls(message))
    return count


def funnel_columns(stack: Stack) -> list[str]:
    with sqlite3.connect(stack.db_path) as db:
        return [row[1] for row in db.execute("PRAGMA table_info(login_funnel)")]


async def test_web_logins_granted_declined_cancelled_and_a_used_link(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    before = await funnel_metrics(client, stack)
    ann, bob, cat = [await Person.pick(stack, client, index) for index in range(3)]

    granted_url = await prompt_url(ann)
    await ann.open_login(granted_url, user_agent=DESKTOP_CHROME)
    # Bob leaves user_likes out on his phone; Cat presses Cancel in Messenger's browser.
    await bob.open_login(
        await prompt_url(bob), user_agent=ANDROID_CHROME, grant=("public_profile",)
    )
    await cat.open_login(await prompt_url(cat), user_agent=IPHONE_MESSENGER, cancel=True)
    # Ann opens her (used) link again on the desktop.
    used = await client.get(granted_url, headers={"User-Agent": DESKTOP_CHROME})
    assert used.status_code == 409

    web = stats(stack)["flows"]["web"]
    clients = web["clients"]
    sent = sum([await prompts_received(p, "web") for p in (ann, bob, cat)])
    assert sent >= 3
    assert web["all"]["prompt_sent"] == sent
    assert clients["unknown"]["prompt_sent"] == sent
    assert clients["desktop"]["link_opened"] == 2  # Ann, and Ann again
    assert clients["phone"]["link_opened"] == clients["messenger_app"]["link_opened"] == 1
    for kind in ("desktop", "phone", "messenger_app"):
        assert clients[kind]["dialog_reached"] == 1
    assert clients["desktop"]["granted"] == 1
    assert clients["phone"]["declined"] == 1
    assert clients["messenger_app"]["cancelled"] == 1
    assert web["all"]["granted"] == web["all"]["declined"] == web["all"]["cancelled"] == 1
    assert clients["desktop"]["failed"] == 1  # the used link
    assert web["all"]["back_in_messenger"] == 2  # the grant and the partial grant
    assert clients["messenger_app"]["back_in_messenger"] == 0
    assert web["conversion"]["dialog_reached"] == 0.75  # 3 of the 4 links opened
    assert web["conversion"]["back_in_messenger"] == 1.0
    reasons = {
        (r["client_kind"], r["step"], r["reason"]): r["count"] for r in stats(stack)["reasons"]
    }
    assert reasons == {
        ("phone", "declined", "user_likes"): 1,
        ("messenger_app", "cancelled", "access_denied"): 1,
        ("desktop", "failed", "ticket_used"): 1,
    }
    # /metrics agrees with the database, step for step.
    added = delta(await funnel_metrics(client, stack), before)
    assert added[("web", "desktop", "granted", "")] == 1
    assert added[("web", "phone", "declined", "user_likes")] == 1
    assert added[("web", "messenger_app", "cancelled", "access_denied")] == 1
    assert added[("web", "unknown", "prompt_sent", "")] == sent
    assert sum(v for k, v in added.items() if k[2] == "link_opened") == 4

    # Nothing in the funnel names a person, and the table says how to read it.
    assert funnel_columns(stack) == ["day", "flow", "client_kind", "step", "reason", "count"]
    table = run_cli(stack, "stats", "--since", "1d")
    assert table.returncode == 0, table.stderr
    assert "web flow since" in table.stdout
    assert "dialog reached" in table.stdout
    assert "3 (75%)" in table.stdout
    for person in (ann, bob, cat):
        assert person.psid not in table.stdout


async def test_an_account_link_counts_back_in_messenger_when_messenger_confirms(
    make_stack: Callable[..., Stack], client: httpx.AsyncClient
) -> None:
    stack = make_stack({"login_flow": "account_link"})
    person = await Person.pick(stack, client)
    await linked(person)  # the likes arrive after Messenger's `linked` webhook

    flow = stats(stack)["flows"]["account_link"]
    assert flow["all"]["prompt_sent"] == await prompts_received(person, "account_link") == 1
    in_app = flow["clients"]["messenger_app"]
    assert in_app["link_opened"] == in_app["dialog_reached"] == in_app["granted"] == 1
    assert in_app["back_in_messenger"] == 1
    assert stats(stack)["flows"]["web"]["all"]["link_opened"] == 0


async def test_stats_refuses_a_period_it_cannot_read(stack: Stack) -> None:
    done = run_cli(stack, "stats", "--since", "last tuesday")
    assert done.returncode == 2
    assert "not a period" in done.stderr

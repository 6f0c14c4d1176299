"""``botperms tokens check`` as a real process against the bot's SQLite file and a running
fakebook: three people log in over HTTP, fakebook expires one token and invalidates another,
and the command's output, marks, exit codes and notify-once behaviour are checked."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack, eventually
from tests.e2e.person import DESKTOP_CHROME, Person, button_urls
from tests.e2e.test_login_flow import prompt_url

DAY = 86400


def cli_env(stack: Stack, **overrides: str) -> dict[str, str]:
    """The bot's settings as the BOTPERMS_* environment a second process reads."""
    settings = stack.settings
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOTPERMS_")}
    env.update(
        {
            "BOTPERMS_APP_ID": settings.app_id,
            "BOTPERMS_APP_SECRET": settings.app_secret.get_secret_value(),
            "BOTPERMS_VERIFY_TOKEN": settings.verify_token.get_secret_value(),
            "BOTPERMS_PAGE_ID": settings.page_id,
            "BOTPERMS_PAGE_TOKEN": settings.page_token.get_secret_value(),
            "BOTPERMS_PUBLIC_URL": settings.public_url,
            "BOTPERMS_GRAPH_URL": settings.graph_url,
            "BOTPERMS_WWW_URL": settings.www_url,
            "BOTPERMS_DATABASE_URL": settings.database_url,
            "BOTPERMS_TOKEN_KEYS": ",".join(k.get_secret_value() for k in settings.token_keys),
            "BOTPERMS_LOG_LEVEL": "WARNING",
        }
    )
    env.update(overrides)
    return env


def run_cli(stack: Stack, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "botperms.cli", *args],
        env=cli_env(stack, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def check_json(stack: Stack, *args: str) -> tuple[int, dict[str, Any]]:
    done = run_cli(stack, "tokens", "check", "--json", *args)
    assert done.returncode in (0, 1), done.stderr
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def grant_rows(stack: Stack) -> dict[str, tuple[Any, ...]]:
    with sqlite3.connect(stack.db_path) as db:
        rows = db.execute(
            "SELECT psid, status, token_check, revoke_reason, expiry_notified_at FROM grants"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def outbox_to(stack: Stack, psid: str) -> list[str]:
    with sqlite3.connect(stack.db_path) as db:
        return [p for (p,) in db.execute("SELECT payload FROM outbox WHERE psid = ?", (psid,))]


async def log_in(person: Person) -> None:
    url = await prompt_url(person)
    before = len(await person.received())
    await person.open_login(url, user_agent=DESKTOP_CHROME)
    await person.wait_for_reply(before, "the thanks after login")


@pytest.fixture
async def three(
    make_stack: Callable[..., Stack], client: httpx.AsyncClient
) -> tuple[Stack, list[Person]]:
    # Every token fakebook issues here lets its data be read for three more days.
    stack = make_stack(data_access_ttl=3 * DAY)
    people = [await Person.pick(stack, client, index) for index in range(3)]
    for person in people:
        await log_in(person)
    return stack, people


async def test_check_marks_dead_tokens_lists_expiring_ones_and_notifies_once(
    three: tuple[Stack, list[Person]], client: httpx.AsyncClient
) -> None:
    stack, (ann, bob, cat) = three
    fb = stack.fb
    await client.post(f"{fb}/_fakebook/tokens/expire", json={"asid": bob.asid})
    await client.post(
        f"{fb}/_fakebook/tokens/invalidate", json={"asid": cat.asid, "reason": "password_changed"}
    )

    code, report = check_json(stack, "--expiring-within", "7")
    assert code == 1
    states = {token["psid"]: token["state"] for token in report["tokens"]}
    assert states == {ann.psid: "expiring", bob.psid: "expired", cat.psid: "invalid"}
    assert report["counts"] == {
        "ok": 0,
        "expiring": 1,
        "expired": 1,
        "invalid": 1,
        "unchecked": 0,
    }
    rows = grant_rows(stack)
    assert rows[ann.psid][:2] == ("active", "valid")
    assert rows[bob.psid][:2] == ("expired", "expired")
    assert rows[cat.psid][:2] == ("expired", "invalid")
    assert "invalidated" in rows[cat.psid][2]

    # The dead ones are marked, so they are not stored tokens to check any more; Ann's data
    # access ends in three days: fine for a one-day horizon, in need of attention for seven.
    queued = len(outbox_to(stack, ann.psid))
    assert check_json(stack, "--expiring-within", "1")[0] == 0
    assert check_json(stack, "--expiring-within", "7")[0] == 1
    # Without --notify nobody is told.
    assert len(outbox_to(stack, ann.psid)) == queued
    assert grant_rows(stack)[ann.psid][3] is None

    before = len(await ann.received())
    code, report = check_json(stack, "--notify")
    assert code == 1
    assert [t["notified"] for t in report["tokens"]] == ["notified"]
    assert grant_rows(stack)[ann.psid][3] is not None
    # The running bot's outbox worker sends it: a button that starts a fresh login.
    notice = await ann.wait_for_reply(before, "the access-ending notice")
    assert "runs out on" in notice["attachment"]["payload"]["text"]
    (url,) = button_urls(notice)
    assert url.startswith(f"{stack.settings.public_url}/auth/start?ticket=")
    # …and it works: a fresh login from the notice.
    thanks_before = len(await ann.received())
    await ann.open_login(url, user_agent=DESKTOP_CHROME)
    await ann.wait_for_reply(thanks_before, "the thanks after the fresh login")

    # Once per grant: the new grant is a new one, the old one is "replaced" and told already.
    queued = len(outbox_to(stack, ann.psid))
    code, report = check_json(stack, "--notify")
    assert [t["notified"] for t in report["tokens"]] == ["notified"]  # the fresh grant
    code, report = check_json(stack, "--notify")
    assert [t["notified"] for t in report["tokens"]] == ["already notified"]
    assert len(outbox_to(stack, ann.psid)) == queued + 1


async def test_outside_the_window_nobody_is_told_until_they_write(
    three: tuple[Stack, list[Person]],
) -> None:
    stack, people = three
    # Age everything the people said by two days: Messenger's 24-hour window is shut.
    with sqlite3.connect(stack.db_path) as db:
        db.execute("UPDATE inbox SET event_time = event_time - ?", (2 * DAY * 1000,))
    code, report = check_json(stack, "--notify")
    assert code == 1
    assert {t["notified"] for t in report["tokens"]} == {"outside the 24-hour window"}
    assert all(row[3] is None for row in grant_rows(stack).values())

    before = len(await people[0].received())
    await people[0].say("hello again")
    await eventually(lambda: _later(people[0], before), what="the bot's answer to the new message")
    code, report = check_json(stack, "--notify")
    told = {t["psid"]: t["notified"] for t in report["tokens"]}
    assert told[people[0].psid] == "notified"
    assert told[people[1].psid] == told[people[2].psid] == "outside the 24-hour window"


async def _later(person: Person, before: int) -> bool:
    return len(await person.received()) > before


async def test_the_table_the_exit_codes_and_config_errors(
    three: tuple[Stack, list[Person]],
) -> None:
    stack, _ = three
    table = run_cli(stack, "tokens", "check", "--expiring-within", "1")
    assert table.returncode == 0, table.stderr
    assert "Stored tokens (3)" in table.stdout
    assert table.stdout.count(" ok ") == 3
    assert "3 fine, 0 need attention" in table.stderr
    assert "Checking tokens" in table.stderr  # the progress bar

    usage = run_cli(stack, "tokens", "check", "--expiring-within", "-1")
    assert usage.returncode == 2
    missing = run_cli(stack, "tokens", "check", BOTPERMS_APP_SECRET="")
    assert missing.returncode == 2
    wrong = run_cli(stack, "tokens", "check", BOTPERMS_APP_SECRET="not-the-app-secret-at-all")
    assert wrong.returncode == 2
    assert "refused the app token" in wrong.stderr
    # Nothing was marked by the failed runs.
    assert {row[0] for row in grant_rows(stack).values()} == {"active"}

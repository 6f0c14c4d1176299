"""``botperms profile`` against a real fakebook over loopback HTTP: apply, apply again (no
change), diff (nothing), a change, reset; Facebook's ordering rules are fakebook's to enforce."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner, Result

from botperms.cli import app
from fakebook.app import create_app as create_fakebook
from tests.e2e.conftest import APP_ID, APP_SECRET, PAGE_ID, PAGE_TOKEN, fakebook_config
from tests.e2e.servers import ServerThread, free_port

runner = CliRunner()
BOT_URL = "http://127.0.0.1:8000"
AUTH = {
    "access_token": PAGE_TOKEN,
    "appsecret_proof": hmac.new(
        APP_SECRET.encode(), PAGE_TOKEN.encode(), hashlib.sha256
    ).hexdigest(),
}

PROFILE = """
[get_started]
payload = "GET_STARTED"

[[greeting]]
locale = "default"
text = "Hi {{user_first_name}}!"

[[persistent_menu]]
locale = "default"

[[persistent_menu.call_to_actions]]
type = "postback"
title = "My likes"
payload = "MY_LIKES"

[[persistent_menu.call_to_actions]]
type = "web_url"
title = "Our site"
url = "https://bot.example.com/"
"""


@pytest.fixture
def fakebook() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = ServerThread(create_fakebook(fakebook_config(8000, url)), port).start()
    yield url
    server.stop()


@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fakebook: str) -> Path:
    for name in list(os.environ):
        if name.startswith("BOTPERMS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env; the profile file is found by its default name
    env = {
        "APP_ID": APP_ID,
        "APP_SECRET": APP_SECRET,
        "VERIFY_TOKEN": "v",
        "PAGE_ID": PAGE_ID,
        "PAGE_TOKEN": PAGE_TOKEN,
        "PUBLIC_URL": BOT_URL,
        "GRAPH_URL": fakebook,
        "TOKEN_KEYS": Fernet.generate_key().decode(),
    }
    for key, value in env.items():
        monkeypatch.setenv(f"BOTPERMS_{key}", value)
    (tmp_path / "messenger_profile.toml").write_text(PROFILE, encoding="utf-8")
    return tmp_path


def cli(*args: str) -> Result:
    return runner.invoke(app, ["profile", *args])


def page_profile(fakebook: str) -> dict[str, Any]:
    """What fakebook holds, read over HTTP, not through botperms."""
    params = {
        **AUTH,
        "fields": "get_started,greeting,ice_breakers,persistent_menu,whitelisted_domains,"
        "account_linking_url",
    }
    answer = httpx.get(f"{fakebook}/v25.0/me/messenger_profile", params=params)
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data[0] if data else {}


def lines(result: Result) -> list[str]:
    return [line.strip() for line in result.output.splitlines()]


def test_apply_is_idempotent_and_reset_clears(project: Path, fakebook: str) -> None:
    empty = cli("show")
    assert empty.exit_code == 0, empty.output
    assert f"Page {PAGE_ID} has no Messenger Profile set." in empty.output

    check = cli("diff", "--check")
    assert check.exit_code == 1, check.output
    for line in ("+ get_started (added)", "+ greeting (added)", "+ persistent_menu (added)",
                 "+ whitelisted_domains (added)", "4 properties differ; `botperms profile apply` "
                 "makes the change."):  # fmt: skip
        assert line in lines(check)
    assert page_profile(fakebook) == {}  # diff changes nothing

    first = cli("apply")
    assert first.exit_code == 0, first.output
    steps = [line for line in lines(first) if line.startswith("✓")]
    # fakebook refuses a menu before Get Started: the order is Facebook's, not a preference.
    assert steps == ["✓ set get_started, greeting, whitelisted_domains", "✓ set persistent_menu"]
    profile = page_profile(fakebook)
    assert profile["get_started"] == {"payload": "GET_STARTED"}
    assert profile["whitelisted_domains"] == [BOT_URL]
    assert [item["title"] for item in profile["persistent_menu"][0]["call_to_actions"]] == [
        "My likes",
        "Our site",
    ]

    second = cli("apply")
    assert second.exit_code == 0, second.output
    assert lines(second) == [
        "No change: the page's Messenger Profile already matches messenger_profile.toml."
    ]
    same = cli("diff", "--check")
    assert same.exit_code == 0, same.output
    assert "No differences" in same.output

    shown = cli("show", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == profile

    (project / "messenger_profile.toml").write_text(
        PROFILE.replace('title = "My likes"', 'title = "Likes"'), encoding="utf-8"
    )
    changed = cli("diff")
    assert "~ persistent_menu (changed)" in lines(changed)
    assert '-        "title": "My likes",' in lines(changed)
    assert '+        "title": "Likes",' in lines(changed)
    third = cli("apply")
    assert [line for line in lines(third) if line.startswith("✓")] == ["✓ set persistent_menu"]

    reset = cli("reset", "--yes")
    assert reset.exit_code == 0, reset.output
    # Get Started cannot go while a menu stays: the menu is deleted first.
    assert [line for line in lines(reset) if line.startswith("✓")] == [
        "✓ delete persistent_menu",
        "✓ delete get_started, greeting, whitelisted_domains",
    ]
    assert page_profile(fakebook) == {}
    again = cli("reset", "--yes")
    assert again.exit_code == 0
    assert "Nothing to reset" in again.output


def test_properties_outside_the_file_stay_unless_pruned(project: Path, fakebook: str) -> None:
    breakers = {"locale": "default", "call_to_actions": [{"question": "Q?", "payload": "Q"}]}
    answer = httpx.post(
        f"{fakebook}/v25.0/me/messenger_profile",
        params=AUTH,
        json={"ice_breakers": [breakers]},
    )
    assert answer.status_code == 200, answer.text
    assert cli("apply").exit_code == 0
    assert "ice_breakers" in page_profile(fakebook)
    kept = cli("diff")
    assert "No differences" in kept.output
    assert "--prune removes them): ice_breakers" in kept.output
    pruned = cli("apply", "--prune")
    assert [line for line in lines(pruned) if line.startswith("✓")] == ["✓ delete ice_breakers"]
    assert "ice_breakers" not in page_profile(fakebook)


def test_account_link_flow_sets_the_linking_url(
    project: Path, fakebook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOTPERMS_LOGIN_FLOW", "account_link")
    dry = cli("apply", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "set persistent_menu" in lines(dry)
    assert page_profile(fakebook) == {}  # a dry run sends nothing
    assert cli("apply").exit_code == 0
    assert page_profile(fakebook)["account_linking_url"] == f"{BOT_URL}/link/start"


def test_an_invalid_file_exits_2_naming_each_problem(project: Path, fakebook: str) -> None:
    (project / "bad.toml").write_text(
        '[[greeting]]\nlocale = "fr_FR"\ntext = "' + "x" * 161 + '"\n', encoding="utf-8"
    )
    result = cli("apply", "--file", "bad.toml")
    assert result.exit_code == 2
    assert lines(result) == [
        "bad.toml is not a valid Messenger Profile (2 problems):",
        "greeting[0].text: 161 characters, the limit is 160",
        'greeting: needs an entry with locale = "default"',
    ]
    missing = cli("diff", "--file", "nowhere.toml")
    assert missing.exit_code == 2
    assert "nowhere.toml: no such file" in missing.output
    assert page_profile(fakebook) == {}


def test_missing_settings_exit_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOTPERMS_PAGE_TOKEN")
    result = cli("show")
    assert result.exit_code == 2
    assert "BOTPERMS_PAGE_TOKEN: is required but not set" in result.output


def test_a_refusal_from_facebook_exits_3(project: Path, fakebook: str) -> None:
    fault = {
        "path_contains": "messenger_profile",
        "method": "POST",
        "error": {"code": 100, "message": "(#100) Injected refusal"},
    }
    assert httpx.post(f"{fakebook}/_fakebook/faults", json=fault).status_code == 200
    result = cli("apply")
    assert result.exit_code == 3
    assert "The Messenger Profile call to Facebook failed:" in result.output
    assert "(#100) Injected refusal" in result.output
    assert PAGE_TOKEN not in result.output

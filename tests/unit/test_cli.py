from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from botperms.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("BOTPERMS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_serve_without_settings_names_each_missing_variable() -> None:
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "configuration is incomplete" in result.output
    for name in (
        "BOTPERMS_APP_ID",
        "BOTPERMS_APP_SECRET",
        "BOTPERMS_PAGE_TOKEN",
        "BOTPERMS_TOKEN_KEYS",
    ):
        assert f"{name}: is required but not set" in result.output
    assert "Traceback" not in result.output


def set_env(monkeypatch: pytest.MonkeyPatch, **overrides: str) -> None:
    """A complete, valid configuration, changed where a test says so."""
    env = {
        "APP_ID": "123",
        "APP_SECRET": "s",
        "VERIFY_TOKEN": "v",
        "PAGE_ID": "456",
        "PAGE_TOKEN": "EAAx",
        "PUBLIC_URL": "https://bot.example.com",
        "TOKEN_KEYS": Fernet.generate_key().decode(),
    }
    env.update(overrides)
    for key, value in env.items():
        monkeypatch.setenv(f"BOTPERMS_{key}", value)


def test_serve_with_a_malformed_setting_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, PUBLIC_URL="http://bot.example.com")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("BOTPERMS_")]
    assert lines == [
        "BOTPERMS_PUBLIC_URL: 'http://bot.example.com' must use https "
        "(http is only allowed on 127.0.0.1/localhost)"
    ]


def test_production_refuses_demo_secrets_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, ENV="production", APP_SECRET="demo-0123")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "demo secret" in result.output


def test_serve_refuses_something_that_is_not_a_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["serve", "json:dumps"])
    assert result.exit_code == 2


def test_keygen_prints_a_fernet_key() -> None:
    result = runner.invoke(app, ["keygen"])
    assert result.exit_code == 0
    Fernet(result.output.strip().encode())


def test_help_explains_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "demo", "keygen", "db"):
        assert command in result.output


def test_demo_on_a_busy_port_says_which_and_how_to_change_it(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["demo", "--port", str(port), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"port {port} is in use" in result.output
    assert "--port" in result.output


def test_tokens_rotate_moves_tokens_to_the_new_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import asyncio

    from botperms.store import Database, Store, TokenCipher

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"

    async def seed() -> None:
        database = Database(url)
        await database.migrate()
        await Store(database, TokenCipher([old])).save_grant(
            page_id="456", psid="1", asid="9", access_token="EAAsecret-token",
            scopes_granted=["user_likes"], scopes_declined=[], expires_at=None,
            data_access_expires_at=None, flow="web",
        )  # fmt: skip
        await database.dispose()

    async def read_with(keys: list[str]) -> str | None:
        database = Database(url)
        try:
            grant = await Store(database, TokenCipher(keys)).active_grant("456", "1")
            return grant.access_token if grant else None
        finally:
            await database.dispose()

    asyncio.run(seed())
    set_env(monkeypatch, DATABASE_URL=url)

    monkeypatch.setenv("BOTPERMS_TOKEN_KEYS", new)  # the old key forgotten too early
    refused = runner.invoke(app, ["tokens", "rotate"])
    assert refused.exit_code == 1
    assert "matches none" in refused.output

    monkeypatch.setenv("BOTPERMS_TOKEN_KEYS", f"{new},{old}")
    result = runner.invoke(app, ["tokens", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1" in result.output
    assert asyncio.run(read_with([new])) == "EAAsecret-token"  # the old key is no longer needed

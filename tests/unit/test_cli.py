from __future__ import annotations

import re
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


BOT_HEAD = "from botperms import Bot, Context, requires\n\nbot = Bot()\n\n\n"
MISTAKES = {
    "typo": (
        '@bot.on_mesage(text="hi")\nasync def hi(ctx: Context) -> None:\n    pass\n',
        "line 6: Bot has no decorator on_mesage (did you mean on_message?)",
        '@bot.on_mesage(text="hi")',
    ),
    "scope": (
        '@bot.on_message(text="mail")\n@requires("user_emial")\n'
        "async def mail(ctx: Context) -> None:\n    pass\n",
        "line 7: @requires: 'user_emial' is not a Facebook permission (did you mean 'email'?)",
        '@requires("user_emial")',
    ),
    "plain": (
        '@bot.on_message(text="hi")\ndef hi(ctx: Context) -> None:\n    pass\n',
        "line 6: handler hi is a plain function; botperms awaits its handlers, so write "
        "`async def hi(ctx)`",
        '@bot.on_message(text="hi")',
    ),
    "login": (
        "@bot.on_login\nasync def welcome(ctx: Context) -> None:\n    pass\n",
        "line 6: @bot.on_login handler welcome takes (ctx), but botperms calls it with "
        "(ctx, declined); write `async def welcome(ctx, declined)`",
        "@bot.on_login",
    ),
    "bare": (
        "@bot.on_postback\nasync def started(ctx: Context) -> None:\n    pass\n",
        "line 6: @bot.on_postback needs the payload it answers, with parentheses: "
        '@bot.on_postback("GET_STARTED")',
        "@bot.on_postback",
    ),
    "name": (
        "helper = undefined_thing\n",
        "line 6: NameError: name 'undefined_thing' is not defined",
        "helper = undefined_thing",
    ),
    "syntax": ("bot = Bot(\n", "line 6: SyntaxError: '(' was never closed", "bot = Bot("),
}


@pytest.mark.parametrize("kind", MISTAKES)
def test_a_mistake_in_the_bot_is_told_at_its_file_and_line(tmp_path: Path, kind: str) -> None:
    body, problem, source = MISTAKES[kind]
    module = f"mistake_{kind}"
    (tmp_path / f"{module}.py").write_text(BOT_HEAD + body)
    result = runner.invoke(app, ["demo", f"{module}:bot"])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"Cannot load bot '{module}:bot':",
        f"  {module}.py, {problem}",
        f"      {source}",
    ]


def test_a_module_or_name_that_does_not_exist_says_which_part_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "present.py").write_text(BOT_HEAD)
    missing = runner.invoke(app, ["demo", "absent:bot"])
    assert missing.exit_code == 2
    assert f"there is no module 'absent' in {tmp_path}" in missing.output
    wrong = runner.invoke(app, ["demo", "present:robot"])
    assert wrong.exit_code == 2
    assert "present.py has no name 'robot'" in wrong.output
    assert "bot = Bot() makes it present:bot" in wrong.output


def test_serve_on_a_busy_port_names_the_process_holding_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import socket

    set_env(monkeypatch)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"port {port} is in use by process {os.getpid()} (" in result.output
    assert "choose another port with --port" in result.output


def test_help_explains_reload() -> None:
    for command in ("serve", "demo"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "--reload" in result.output
    shown = re.sub(r"[│╭╮╰╯─]", " ", runner.invoke(app, ["demo", "--help"]).output)
    assert "fakebook keeps running, so the conversation stays on screen" in " ".join(shown.split())


@pytest.mark.parametrize(
    ("database", "extra"),
    [
        ("postgresql+asyncpg://postgres@127.0.0.1:5432/botperms", []),
        ("sqlite+aiosqlite:///data/botperms.db", ["--web-only"]),
    ],
    ids=["postgresql", "web-only"],
)
def test_two_processes_are_refused_where_they_do_not_apply(
    monkeypatch: pytest.MonkeyPatch, database: str, extra: list[str]
) -> None:
    set_env(monkeypatch, DATABASE_URL=database)
    result = runner.invoke(app, ["serve", "--processes", "2", *extra])
    assert result.exit_code == 2
    assert "--processes 2 runs the embedded role on SQLite" in result.output
    assert "botperms worker" in result.output
    assert "Traceback" not in result.output


def test_serve_help_explains_two_processes() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--processes" in result.output
    assert "second core" in " ".join(result.output.split())

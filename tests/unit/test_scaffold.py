"""``botperms new NAME``: the files, the refusal to overwrite, and that what it writes works."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from botperms import Bot
from botperms.cli import app, load_bot
from botperms.config import Settings
from botperms.messenger import MessagingEvent
from botperms.messenger.profile import desired_messenger_profile, load_messenger_profile
from botperms.scaffold import FILES

runner = CliRunner()
EXPECTED = {
    "bot.py",
    "test_bot.py",
    "messenger_profile.toml",
    ".env.example",
    ".gitignore",
    "README.md",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("BOTPERMS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def import_bot(folder: Path) -> ModuleType:
    name = f"scaffolded_{folder.name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, folder / "bot.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def postback(payload: str) -> MessagingEvent:
    return MessagingEvent.model_validate(
        {
            "sender": {"id": "1"},
            "recipient": {"id": "2"},
            "timestamp": 1,
            "postback": {"title": "t", "payload": payload},
        }
    )


def test_new_writes_a_project(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "my-bot"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "my-bot"
    assert {path.name for path in folder.iterdir()} == EXPECTED == set(FILES.values())
    assert "my-bot/bot.py" in result.output
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# my-bot\n")
    steps = ("botperms serve bot:bot --reload", "botperms demo bot:bot --reload")
    for step in (*steps, "fakebook serve --port 8001", "botperms profile apply"):
        assert step in readme
    assert "__BOT_NAME__" not in "".join(p.read_text(encoding="utf-8") for p in folder.iterdir())


def test_the_generated_bot_imports_and_handles_its_profile(tmp_path: Path) -> None:
    assert runner.invoke(app, ["new", "likes"]).exit_code == 0
    folder = tmp_path / "likes"
    # A bot author's module uses the public API only: `from botperms import …`.
    tree = ast.parse((folder / "bot.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"__future__", "botperms"}
    module = import_bot(folder)
    bot = module.bot
    assert isinstance(bot, Bot)
    assert bot.name == "likes"
    profile = desired_messenger_profile(
        load_messenger_profile(folder / "messenger_profile.toml"),
        public_url="http://127.0.0.1:8000",
    )
    assert profile["get_started"] == {"payload": "GET_STARTED"}
    # Every postback the profile can send has its own handler (none falls through).
    payloads = [profile["get_started"]["payload"]] + [
        item["payload"] for item in profile["persistent_menu"][0]["call_to_actions"]
    ]
    assert payloads == ["GET_STARTED", "MY_LIKES", "LOG_OUT"]
    handlers = [bot.route(postback(payload)) for payload in payloads]
    assert handlers == [module.get_started, module.likes, module.log_out]
    assert bot.route(postback("SOMETHING_ELSE")) is module.anything_else


def test_the_example_settings_are_complete_with_a_key(tmp_path: Path) -> None:
    assert runner.invoke(app, ["new", "bot1"]).exit_code == 0
    settings = Settings(
        _env_file=tmp_path / "bot1" / ".env.example",  # type: ignore[call-arg]
        token_keys=Fernet.generate_key().decode(),
    )
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.graph_url == "http://127.0.0.1:8001"


def test_new_refuses_a_folder_with_files(tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    result = runner.invoke(app, ["new", "taken"])
    assert result.exit_code == 2
    assert "already has files in it" in result.output
    assert [path.name for path in folder.iterdir()] == ["notes.txt"]
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"

    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    assert "is not a folder" in runner.invoke(app, ["new", "a-file"]).output


def test_new_fills_an_empty_folder_and_checks_the_name(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert runner.invoke(app, ["new", "empty"]).exit_code == 0
    assert (tmp_path / "empty" / "bot.py").exists()
    refused = runner.invoke(app, ["new", "bad name!"])
    assert refused.exit_code == 2
    assert "'bad name!' is not a usable project name" in refused.output
    assert not (tmp_path / "bad name!").exists()


def test_serve_finds_the_generated_bot_from_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["new", "served"]).exit_code == 0
    monkeypatch.chdir(tmp_path / "served")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    monkeypatch.delitem(sys.modules, "bot", raising=False)
    try:
        loaded = load_bot("bot:bot")
    finally:
        sys.modules.pop("bot", None)
    assert isinstance(loaded, Bot)
    assert loaded.name == "served"


def test_the_generated_tests_use_chat_tester_and_pass(tmp_path: Path) -> None:
    assert runner.invoke(app, ["new", "tested"]).exit_code == 0
    folder = tmp_path / "tested"
    source = (folder / "test_bot.py").read_text(encoding="utf-8")
    assert "from botperms.testing import ChatTester" in source
    # The new project's own pytest run, from its folder, as its author would start it.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bot.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout

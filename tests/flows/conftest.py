"""The bot app driven in-process (httpx.ASGITransport), with its services started by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from starlette.applications import Starlette

from botperms.app import App
from botperms.config import Settings
from botperms.examples.likes_bot import bot as example_bot

APP_SECRET = "flows-app-secret"
VERIFY_TOKEN = "flows-verify"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_id": "111",
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "page_id": "222",
        "page_token": "EAApagetoken",
        "public_url": "http://127.0.0.1:9",
        "graph_url": "https://fakebook.invalid",
        "www_url": "https://fakebook.invalid",
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        "token_keys": Fernet.generate_key().decode(),
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    # Workers stay off: these tests look at what the web layer stores, not at the bot's replies.
    built = App.build(settings, example_bot, run_workers=False)
    await built.start()
    try:
        yield built.asgi()
    finally:
        await built.stop()


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9") as http:
        yield http

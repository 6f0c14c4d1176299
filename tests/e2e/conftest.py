"""The bot and fakebook as real HTTP servers on loopback ports, wired like the demo."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from botperms.app import create_app
from botperms.config import Settings
from botperms.examples.likes_bot import bot as example_bot
from fakebook.app import create_app as create_fakebook
from fakebook.config import FakebookConfig
from tests.e2e.servers import ServerThread, free_port

APP_ID = "1000000000000001"
PAGE_ID = "2000000000000002"
APP_SECRET = "e2e-app-secret-0123456789"
PAGE_TOKEN = "EAAe2ePageToken0123456789"
VERIFY_TOKEN = "e2e-verify-token"


@dataclass
class Stack:
    settings: Settings
    bot: ServerThread
    fakebook: ServerThread
    db_path: Path

    @property
    def fb(self) -> str:
        return self.fakebook.url


def bot_settings(bot_port: int, fakebook_url: str, db_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "page_id": PAGE_ID,
        "page_token": PAGE_TOKEN,
        "public_url": f"http://127.0.0.1:{bot_port}",
        "graph_url": fakebook_url,
        "www_url": fakebook_url,
        "m_me_url": f"{fakebook_url}/m.me",
        "extensions_sdk_url": f"{fakebook_url}/sdk/messenger.Extensions.js",
        "database_url": f"sqlite+aiosqlite:///{db_path}",
        "token_keys": Fernet.generate_key().decode(),
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


def fakebook_config(bot_port: int, fakebook_url: str, **overrides: Any) -> FakebookConfig:
    bot = f"http://127.0.0.1:{bot_port}"
    values: dict[str, Any] = {
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "app_name": "E2E Likes Bot",
        "page_id": PAGE_ID,
        "page_name": "E2E Page",
        "page_token": PAGE_TOKEN,
        "webhook_url": f"{bot}/webhook",
        "verify_token": VERIFY_TOKEN,
        "valid_redirect_uris": [f"{bot}/auth/callback"],
        "public_url": fakebook_url,
        "deauthorize_callback_url": f"{bot}/facebook/deauthorize",
        "data_deletion_callback_url": f"{bot}/facebook/data-deletion",
        "webhook_backoff": 0.05,
        "webhook_retries": 2,
    }
    values.update(overrides)
    return FakebookConfig(**values)


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    started: list[ServerThread] = []

    def make(
        bot_overrides: dict[str, Any] | None = None,
        *,
        run_workers: bool = True,
        **fb_overrides: Any,
    ) -> Stack:
        bot_port, fb_port = free_port(), free_port()
        fb_url = f"http://127.0.0.1:{fb_port}"
        db_path = tmp_path / "botperms.db"
        settings = bot_settings(bot_port, fb_url, db_path, **(bot_overrides or {}))
        fakebook = ServerThread(
            create_fakebook(fakebook_config(bot_port, fb_url, **fb_overrides)), fb_port
        )
        started.append(fakebook.start())
        bot = ServerThread(create_app(settings, example_bot, run_workers=run_workers), bot_port)
        started.append(bot.start())
        return Stack(settings, bot, fakebook, db_path)

    yield make
    for server in reversed(started):
        server.stop()


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15) as http:
        yield http


async def eventually(
    probe: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition"
) -> Any:
    """Polls an async probe until it returns something truthy (the bot works after the 200)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)

"""Fixtures: a fakebook app in-process, with a fake clock and a fake webhook receiver, and
Debian's chromium for the browser tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, async_playwright
from starlette.applications import Starlette

from fakebook import FakebookConfig, create_app
from tests.fakebook.fbtesting import BASE, FB, Clock, Receiver, make_config


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def config() -> FakebookConfig:
    return make_config()


@pytest.fixture
def app(config: FakebookConfig, receiver: Receiver, clock: Clock) -> Starlette:
    return create_app(config, webhook_transport=httpx.MockTransport(receiver.handle), clock=clock)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http
    await app.state.deliverer.aclose()


@pytest.fixture
def fb(client: httpx.AsyncClient, clock: Clock) -> FB:
    return FB(client, clock)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        yield chromium
        await chromium.close()

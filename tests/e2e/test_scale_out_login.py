"""A login that starts on one web replica and finishes on the other, in the distributed mode:
two ``serve --web-only`` apps and a worker on one PostgreSQL database, fakebook as Facebook,
the example bot. No sticky sessions: OAuth state, tickets and the outcome event are shared
through the database."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from botperms.app import App, Role, create_app
from botperms.examples.likes_bot import bot as example_bot
from fakebook.app import create_app as create_fakebook
from tests.e2e.conftest import Stack, bot_settings, fakebook_config
from tests.e2e.person import DESKTOP_CHROME, Person, button_urls
from tests.e2e.servers import ServerThread, free_port
from tests.e2e.test_scale_out import database_url

pytestmark = pytest.mark.postgres

__all__ = ["database_url"]  # the fixture


class WorkerThread:
    """A ``worker``-role App on a loop of its own, as ``botperms worker`` runs it."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.task: asyncio.Task[None] | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.task = self.loop.create_task(self.app.run_worker())
        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(self.task)

    def start(self) -> WorkerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(timeout=30)


@pytest.fixture
def replicas(tmp_path: Path, database_url: str) -> Iterator[tuple[Stack, str]]:
    first, second, fb_port = free_port(), free_port(), free_port()
    fb_url = f"http://127.0.0.1:{fb_port}"
    settings = bot_settings(
        first,
        fb_url,
        tmp_path / "unused.db",
        database_url=database_url,
        worker_sweep_seconds=0.5,
    )
    fakebook = ServerThread(create_fakebook(fakebook_config(first, fb_url)), fb_port).start()
    web_a = ServerThread(create_app(settings, example_bot, role=Role.WEB), first).start()
    web_b = ServerThread(create_app(settings, example_bot, role=Role.WEB), second).start()
    worker = WorkerThread(App.build(settings, example_bot, role=Role.WORKER)).start()
    try:
        yield Stack(settings, web_a, fakebook, tmp_path / "unused.db"), f"127.0.0.1:{second}"
    finally:
        worker.stop()
        for server in (web_b, web_a, fakebook):
            server.stop()


def on_host(url: str, netloc: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=netloc))


async def test_a_login_started_on_one_replica_finishes_on_the_other(
    replicas: tuple[Stack, str],
) -> None:
    stack, other = replicas
    async with httpx.AsyncClient(timeout=15) as http:
        person = await Person.pick(stack, http)
        # fakebook delivers the webhook to the first replica; a worker answers.
        reply = await person.say_and_wait("hi")
        (url,) = button_urls(reply)
        assert urlsplit(url).netloc == urlsplit(stack.bot.url).netloc
        # The confirm page and the dialog's start on the first replica…
        dialog = await person.start(url, user_agent=DESKTOP_CHROME)
        callback = await person.use_dialog(dialog, {"User-Agent": DESKTOP_CHROME})
        before = len(await person.received())
        # …and Facebook's redirect back lands on the second, as a load balancer may send it.
        done = await http.get(on_host(callback, other), headers={"User-Agent": DESKTOP_CHROME})
        assert done.status_code == 200, done.text
        thanks = await person.wait_for_reply(before, "the likes after login")
        assert thanks["text"].startswith("Thanks, you're logged in!")

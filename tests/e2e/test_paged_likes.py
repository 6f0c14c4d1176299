"""The example bot lists the first 10 likes when the server sends them 3 at a time.

fakebook answers `GET /me/likes` with as many items as `limit` asks (up to 100). Facebook may
send fewer per page than asked, so here a thin layer in front of fakebook caps every likes page
at 3, whatever the bot asks for: the bot must follow `paging.next` to reach 10.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from botperms.app import create_app
from botperms.examples.likes_bot import bot as example_bot
from fakebook.app import create_app as create_fakebook
from fakebook.people import seed_people
from tests.e2e.conftest import Stack, bot_settings, fakebook_config
from tests.e2e.person import DESKTOP_CHROME, Person, button_urls
from tests.e2e.servers import ServerThread, free_port
from tests.e2e.test_login_flow import likes_lines

PAGE_SIZE = 3

Receive = Any
Send = Any


class PagesByThree:
    """ASGI layer in front of fakebook: every `/likes` request gets `limit` at most 3."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.likes_limits: list[str] = []  # the `limit` each likes request asked for

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/likes"):
            query = dict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True))
            self.likes_limits.append(query.get("limit", ""))
            asked = int(query["limit"]) if query.get("limit", "").isdigit() else PAGE_SIZE
            query["limit"] = str(min(asked, PAGE_SIZE))
            scope = {**scope, "query_string": urlencode(query).encode()}
        await self.app(scope, receive, send)


@pytest.fixture
def paged(tmp_path: Path) -> Iterator[tuple[Stack, PagesByThree]]:
    bot_port, fb_port = free_port(), free_port()
    fb_url = f"http://127.0.0.1:{fb_port}"
    settings = bot_settings(bot_port, fb_url, tmp_path / "botperms.db")
    front = PagesByThree(create_fakebook(fakebook_config(bot_port, fb_url)))
    fakebook = ServerThread(front, fb_port).start()
    bot = ServerThread(create_app(settings, example_bot), bot_port).start()
    yield Stack(settings, bot, fakebook, tmp_path / "botperms.db"), front
    bot.stop()
    fakebook.stop()


async def test_example_bot_lists_ten_likes_paged_by_three(
    paged: tuple[Stack, PagesByThree], client: httpx.AsyncClient
) -> None:
    stack, front = paged
    person = await Person.pick(stack, client)
    assert person.likes_count > 10
    prompt = await person.say_and_wait("likes")
    (url,) = button_urls(prompt)
    before = len(await person.received())
    await person.open_login(url, user_agent=DESKTOP_CHROME)
    answer = await person.wait_for_reply(before, "the likes after login")

    (seeded,) = [p for p in seed_people() if p.psid == person.psid]
    assert likes_lines(answer) == [f"• {page.name}" for page in seeded.likes[:10]]
    # The bot asked for 10 once, then followed three `next` links (3 + 3 + 3 + 1).
    assert len(front.likes_limits) == 4
    assert front.likes_limits[0] == "10"

"""A person's browser, in process: it opens a login or account-linking link, follows the
bot's real ``/auth`` and ``/link`` pages (the confirmation form included) and answers the
Login dialog as the person decides, until the browser leaves for Messenger or stops on a page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from botperms.testing.fake_graph import FakeGraph
from botperms.testing.people import Decision, Person

_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
MAX_HOPS = 12


class LoginPageError(AssertionError):
    """The login ended on one of the bot's error pages (the test may expect that)."""

    def __init__(self, url: str, status: int, page: str) -> None:
        self.url, self.status, self.page = url, status, page
        title = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
        reason = html.unescape(title.group(1).strip()) if title else page[:200]
        super().__init__(f"the login stopped at {url} ({status}): {reason}")


@dataclass(frozen=True)
class Arrival:
    """Where the browser ended: a URL outside the bot (Messenger), or the bot's last page."""

    url: str
    status: int = 302
    page: str = ""


class Browser:
    """One person's browser: its own cookies, the bot's web app in process for the bot's
    host, and the fake Facebook's Login dialog for Facebook's."""

    def __init__(self, app: httpx.AsyncBaseTransport, fake: FakeGraph, *, public_url: str) -> None:
        # A client of its own: its cookie jar is this person's (paths and Secure respected).
        self._app = httpx.AsyncClient(transport=app, base_url=public_url)
        self._fake = fake
        self._host = urlsplit(public_url).netloc

    async def aclose(self) -> None:
        await self._app.aclose()

    async def open(self, url: str, person: Person, decision: Decision) -> Arrival:
        for _ in range(MAX_HOPS):
            parts = urlsplit(url)
            if parts.netloc == self._host:
                response = await self._app.get(url)
                form = dict(_HIDDEN.findall(response.text)) if response.status_code == 200 else {}
                if "ticket" in form and "form_token" in form:  # the "whose login is it" page
                    fields = {key: html.unescape(value) for key, value in form.items()}
                    response = await self._app.post(parts.path, data=fields)
                if response.is_redirect:
                    url = str(response.headers["location"])
                    continue
                if response.status_code >= 400:
                    raise LoginPageError(url, response.status_code, response.text)
                return Arrival(url, response.status_code, response.text)
            if parts.path.endswith("/dialog/oauth"):
                url = self._fake.authorize(url, person, decision)
                continue
            return Arrival(url)  # left for Messenger (m.me, or account linking's redirect_uri)
        raise AssertionError(f"the login went through more than {MAX_HOPS} redirects")

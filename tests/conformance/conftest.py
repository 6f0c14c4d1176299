"""One live fakebook on a loopback port for the whole conformance run, reset before each test.

The clients under test are other people's code (facebook-sdk, Authlib, requests-oauthlib,
fbmessenger, pymessenger, messaging-api-messenger); most are blocking, so fakebook runs in its
own thread (uvicorn) and the tests call it over real HTTP, as those clients would call Facebook.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from fakebook import FakebookConfig, create_app
from tests.e2e.servers import ServerThread, free_port

APP_ID = "424242424242424"
APP_SECRET = "conformance-app-secret"
PAGE_ID = "777000000000001"
PAGE_TOKEN = "EAAConformancePageToken"
REDIRECT_URI = "http://127.0.0.1:9/auth/callback"  # never opened: tests read the Location
ALICE_PSID, ALICE_ASID = "5810000000000001", "10220000000000101"
BOB_PSID = "5810000000000002"


def proof(token: str) -> str:
    return hmac.new(APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()


class Live:
    """The running fakebook: its base URL and the control API a test needs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.control = httpx.Client(base_url=url, timeout=10)

    def reset(self) -> None:
        self.control.post("/_fakebook/reset").raise_for_status()

    def person_says(self, psid: str = ALICE_PSID, text: str = "hi") -> None:
        """The person writes first, which opens the 24-hour window for the page's sends."""
        answer = self.control.post(f"/_fakebook/chat/{psid}/message", json={"text": text})
        assert answer.status_code == 202, answer.text

    def sent(self, psid: str = ALICE_PSID) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self.control.get(
            "/_fakebook/sent", params={"psid": psid}
        ).json()
        return calls

    def profile(self, fields: str) -> dict[str, Any]:
        params = {
            "fields": fields,
            "access_token": PAGE_TOKEN,
            "appsecret_proof": proof(PAGE_TOKEN),
        }
        body: dict[str, Any] = self.control.get("/v25.0/me/messenger_profile", params=params).json()
        return body["data"][0] if body["data"] else {}

    def consent(self, dialog_url: str, person: str = ALICE_PSID) -> str:
        """Press Continue in the Login dialog at `dialog_url` (by HTTP, as a browser would, with
        every scope left ticked) and return the redirect Location fakebook answers with."""
        with httpx.Client(timeout=10) as browser:
            page = browser.get(dialog_url)
            assert page.status_code == 200, page.text
            csrf = re.search(r'name="fb_dtsg" value="([0-9a-f]+)"', page.text)
            scopes = re.findall(r'name="scopes"[^>]*value="([a-z_]+)"', page.text)
            assert csrf is not None
            form = {"fb_dtsg": csrf.group(1), "person": person, "action": "continue",
                    "scopes": scopes}  # fmt: skip
            answer = browser.post(dialog_url, data=form)
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    def user_token(self, scope: str = "user_likes", person: str = ALICE_PSID) -> str:
        """A user token through the dialog and the code exchange, for clients that only read."""
        query = {"client_id": APP_ID, "redirect_uri": REDIRECT_URI, "scope": scope}
        location = self.consent(f"{self.url}/v25.0/dialog/oauth?{_encode(query)}", person)
        code = parse_qs(urlsplit(location).query)["code"][0]
        params = {"client_id": APP_ID, "client_secret": APP_SECRET,
                  "redirect_uri": REDIRECT_URI, "code": code}  # fmt: skip
        answer = self.control.get("/v25.0/oauth/access_token", params=params)
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token


def _encode(query: dict[str, str]) -> str:
    return str(httpx.QueryParams(query))


@pytest.fixture(scope="session")
def live_server() -> Iterator[Live]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = FakebookConfig(
        app_id=APP_ID,
        app_secret=APP_SECRET,
        app_name="Conformance Bot",
        page_id=PAGE_ID,
        page_name="Conformance Page",
        page_token=PAGE_TOKEN,
        valid_redirect_uris=[REDIRECT_URI],
        public_url=url,
    )
    server = ServerThread(create_app(config), port).start()
    live = Live(url)
    yield live
    live.control.close()
    server.stop()


@pytest.fixture
def fakebook(live_server: Live) -> Live:
    live_server.reset()
    return live_server

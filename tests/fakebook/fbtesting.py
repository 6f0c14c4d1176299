"""Test helpers for fakebook: constants, a fake clock, a fake webhook receiver, a Graph helper."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from fakebook import FakebookConfig

APP_ID = "111222333444555"
APP_SECRET = "test-app-secret"
PAGE_ID = "999888777666555"
PAGE_TOKEN = "EAAtestpagetoken"
REDIRECT_URI = "https://bot.test/auth/callback"
WEBHOOK_URL = "https://bot.test/webhook"
BASE = "https://fakebook.test"
ALICE_PSID, ALICE_ASID = "5810000000000001", "10220000000000101"
BOB_PSID, BOB_ASID = "5810000000000002", "10220000000000202"
ZOE_PSID, ZOE_ASID = "5810000000000004", "10220000000000404"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Receiver:
    """Stands in for the bot's webhook; `statuses` are answered in order, then 200."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []
        self.statuses: list[int | Exception] = []
        self.verify_token = "fakebook-verify-token"
        self.before_answer: Callable[[httpx.Request], Awaitable[None]] | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            params = request.url.params
            if params.get("hub.verify_token") != self.verify_token:
                return httpx.Response(403)
            return httpx.Response(200, text=params.get("hub.challenge", ""))
        body = await request.aread()
        self.requests.append(request)
        self.bodies.append(body)
        if self.before_answer is not None:
            await self.before_answer(request)
        if self.statuses:
            answer = self.statuses.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return httpx.Response(answer)
        return httpx.Response(200, text="EVENT_RECEIVED")


def proof(token: str, secret: str = APP_SECRET) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def make_config(**overrides: Any) -> FakebookConfig:
    values: dict[str, Any] = {
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "app_name": "Test Bot",
        "page_id": PAGE_ID,
        "page_name": "Test Page",
        "page_username": "testpage",
        "page_token": PAGE_TOKEN,
        "webhook_url": WEBHOOK_URL,
        "valid_redirect_uris": [REDIRECT_URI],
        "public_url": BASE,
        "webhook_backoff": 0.0,
    }
    values.update(overrides)
    return FakebookConfig(**values)


class FB:
    """Test helper: Graph calls with the right proof, and a full Login in a few calls."""

    def __init__(self, client: httpx.AsyncClient, clock: Clock) -> None:
        self.client = client
        self.clock = clock

    async def graph(
        self, method: str, path: str, token: str | None = PAGE_TOKEN, **params: Any
    ) -> httpx.Response:
        return await self.graph_at("v25.0", method, path, token, **params)

    async def graph_at(
        self, version: str, method: str, path: str, token: str | None = PAGE_TOKEN, **params: Any
    ) -> httpx.Response:
        query = {key: str(value) for key, value in params.items() if value is not None}
        if token is not None:
            query["access_token"] = token
            query.setdefault("appsecret_proof", proof(token))
        return await self.client.request(method, f"/{version}/{path}", params=query)

    async def send(self, body: dict[str, Any], token: str = PAGE_TOKEN) -> httpx.Response:
        params = {"access_token": token, "appsecret_proof": proof(token)}
        return await self.client.post("/v25.0/me/messages", params=params, json=body)

    async def dialog_csrf(self, params: dict[str, str]) -> str:
        page = await self.client.get("/v25.0/dialog/oauth", params=params)
        assert page.status_code == 200, page.text
        found = re.search(r'name="fb_dtsg" value="([0-9a-f]+)"', page.text)
        assert found is not None
        return found.group(1)

    async def login(
        self,
        person: str = ALICE_PSID,
        scopes: str = "user_likes",
        *,
        keep: tuple[str, ...] | None = None,
        state: str | None = "st4te",
        extra: dict[str, str] | None = None,
    ) -> str:
        """Run the dialog with `keep` checked (default: all requested); return the code."""
        params = {"client_id": APP_ID, "redirect_uri": REDIRECT_URI, "scope": scopes}
        if state is not None:
            params["state"] = state
        params.update(extra or {})
        csrf = await self.dialog_csrf(params)
        checked = scopes.split(",") if keep is None else list(keep)
        form = {"fb_dtsg": csrf, "person": person, "action": "continue", "scopes": checked}
        answer = await self.client.post("/v25.0/dialog/oauth", params=params, data=form)
        assert answer.status_code == 302, answer.text
        found = re.search(r"[?&]code=([^&#]+)", answer.headers["location"])
        assert found is not None
        return found.group(1)

    async def exchange(self, code: str, **extra: str) -> httpx.Response:
        params = {
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "redirect_uri": REDIRECT_URI,
            "code": code,
            **extra,
        }
        return await self.client.get("/v25.0/oauth/access_token", params=params)

    async def user_token(
        self, person: str = ALICE_PSID, scopes: str = "user_likes", **kwargs: Any
    ) -> str:
        code = await self.login(person, scopes, **kwargs)
        answer = await self.exchange(code)
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    async def say(self, psid: str = ALICE_PSID, text: str = "hello") -> dict[str, Any]:
        answer = await self.client.post(
            f"/_fakebook/chat/{psid}/message", params={"wait": "true"}, json={"text": text}
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

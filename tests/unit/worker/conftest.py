"""The workers over a real store (SQLite in a temporary file) and a real GraphClient whose
transport is a scripted stand-in for the Send API.

Time is controlled, never waited for: `make_due()` moves every pending retry into the past, so
the next `run_once()` finds it due.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from botperms.graph import GraphClient
from botperms.store import Database, Store, TokenCipher, new_key
from botperms.store.models import InboxEvent, OutboxMessage

GRAPH_BASE = "https://graph.test/v25.0"
APP_ID = "1234567890"
APP_SECRET = "worker-test-app-secret"
PAGE_ID = "222"
PAGE_TOKEN = "EAApagetokenforworkertests0123456789"


def graph_error(
    code: int,
    subcode: int | None = None,
    *,
    status: int = 400,
    message: str = "Graph says no",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "Atrace",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error}, headers=headers)


def buc_header(minutes: int) -> dict[str, str]:
    """Facebook's business-use-case usage header, with the minutes until access comes back."""
    usage = {
        "112233": [
            {
                "type": "messenger",
                "call_count": 100,
                "total_cputime": 20,
                "total_time": 30,
                "estimated_time_to_regain_access": minutes,
            }
        ]
    }
    return {"X-Business-Use-Case-Usage": json.dumps(usage)}


class FakeSendAPI:
    """POST /me/messages behind httpx.MockTransport.

    A send is identified by its message text (or sender action); `fail()` queues answers to give
    before that send succeeds, `hold()` keeps a send in flight until the test releases it.
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.attempts: list[tuple[str, str]] = []  # (psid, label) of every send that arrived
        self.delivered: list[tuple[str, str]] = []  # ... and of those that were accepted
        self.sleeps: list[float] = []
        self._failures: dict[str, list[httpx.Response]] = {}
        self._held: dict[str, tuple[asyncio.Event, asyncio.Event]] = {}

    def fail(self, label: str, *responses: httpx.Response) -> None:
        self._failures.setdefault(label, []).extend(responses)

    def hold(self, label: str) -> tuple[asyncio.Event, asyncio.Event]:
        """(arrived, release): set when the send reaches us / set it to let the send finish."""
        events = (asyncio.Event(), asyncio.Event())
        self._held[label] = events
        return events

    def labels(self, psid: str) -> list[str]:
        return [label for who, label in self.attempts if who == psid]

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.method == "POST"
        assert request.url.path == "/v25.0/me/messages"
        assert request.url.params["access_token"] == PAGE_TOKEN
        assert "appsecret_proof" in request.url.params
        body = json.loads(request.content)
        psid = body["recipient"]["id"]
        label = body.get("sender_action") or body["message"].get("text", "?")
        self.attempts.append((psid, label))
        if label in self._held:
            arrived, release = self._held[label]
            arrived.set()
            await release.wait()
        queued = self._failures.get(label)
        if queued:
            return queued.pop(0)
        self.delivered.append((psid, label))
        if "sender_action" in body:
            return httpx.Response(200, json={"recipient_id": psid})
        return httpx.Response(
            200, json={"recipient_id": psid, "message_id": f"mid.{len(self.delivered)}"}
        )


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/worker.db"


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher([new_key()])


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url)
    await db.migrate()
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def store(database: Database, cipher: TokenCipher) -> Store:
    return Store(database, cipher)


@pytest.fixture
def facebook() -> FakeSendAPI:
    return FakeSendAPI()


def make_graph(facebook: FakeSendAPI, http: httpx.AsyncClient, **overrides: Any) -> GraphClient:
    options: dict[str, Any] = {
        "graph_base": GRAPH_BASE,
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "http": http,
        "sleep": facebook.sleep,
        # One HTTP request per outbox attempt, so the tests see the outbox's own retries.
        "max_retries": 0,
    }
    options.update(overrides)
    return GraphClient(**options)


@pytest.fixture
async def http(facebook: FakeSendAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(facebook)) as client:
        yield client


@pytest.fixture
def graph(facebook: FakeSendAPI, http: httpx.AsyncClient) -> GraphClient:
    return make_graph(facebook, http)


PAST = datetime(2000, 1, 1, tzinfo=UTC)


async def make_due(db: Database) -> None:
    """Jump forward in time: every pending retry of the inbox and the outbox is due now."""
    async with db.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .values(next_attempt_at=PAST)
        )
        await session.execute(
            update(InboxEvent)
            .where(InboxEvent.status == "pending", InboxEvent.retry_at.is_not(None))
            .values(retry_at=PAST)
        )


async def inbox_rows(db: Database) -> dict[int, InboxEvent]:
    async with db.session() as session:
        rows = await session.scalars(select(InboxEvent).order_by(InboxEvent.id))
        return {row.id: row for row in rows}


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)

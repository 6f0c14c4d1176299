"""The bot layer over a real store (SQLite in a temporary file) and a real GraphClient whose
transport answers from a table of (method, path) → response, remembering every request."""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from botperms.bot import Bot, Context
from botperms.bot.dispatcher import Dispatcher
from botperms.bot.runtime import Runtime
from botperms.graph import GraphClient
from botperms.messenger import MessagingEvent
from botperms.store import (
    Database,
    Effect,
    GrantRecord,
    Handled,
    InboxItem,
    Store,
    TokenCipher,
    login_failed_event,
    login_succeeded_event,
    new_key,
)

GRAPH_BASE = "https://graph.test/v25.0"
APP_ID = "1234567890"
APP_SECRET = "bot-test-app-secret"
PAGE_ID = "222"
PAGE_TOKEN = "EAApagetokenforbottests0123456789"
USER_TOKEN = "EAAusertokenforalice0123456789"
DEFAULT_SCOPES = ("user_likes",)


def proof(token: str) -> str:
    return hmac.new(APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()


def graph_error(code: int, *, status: int = 400, message: str = "Graph says no") -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"message": message, "type": "OAuthException", "code": code}}
    )


class FakeGraph:
    """Answers `(method, path)` from `routes` (a response, or a list used up in order)."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], httpx.Response | list[httpx.Response]] = {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path.removeprefix("/v25.0"))
        answer = self.routes.get(key)
        if isinstance(answer, list):
            answer = answer.pop(0) if answer else None
        if answer is None:
            return graph_error(100, message=f"no route for {key} in this test")
        return answer

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [
            request
            for request in self.requests
            if request.method == method and request.url.path == f"/v25.0{path}"
        ]


@dataclass
class LinkMaker:
    """The login_links the flows layer would provide; remembers how it was called."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(
        self,
        page_id: str,
        psid: str,
        scopes: tuple[str, ...] | None = None,
        *,
        auth_type: str | None = None,
        display_name: str | None = None,
    ) -> str:
        self.calls.append(
            {
                "page_id": page_id,
                "psid": psid,
                "scopes": scopes,
                "auth_type": auth_type,
                "display_name": display_name,
            }
        )
        return f"https://bot.test/auth/start?ticket=t{len(self.calls)}"


class Harness:
    """The dispatcher as the inbox worker drives it: ``handle`` runs one event and commits
    what it caused with it (``inbox_complete``), so tests read the outcome from the store.
    ``login_succeeded``/``login_failed`` queue the outcome events the flows layer queues."""

    def __init__(self, dispatcher: Dispatcher, store: Store) -> None:
        self.dispatcher = dispatcher
        self.store = store
        self.bot = dispatcher.bot
        self.runtime = dispatcher.runtime
        self.last_effects: list[Effect] = []

    async def handle(self, event: MessagingEvent, *, standby: bool = False) -> list[Effect]:
        item = InboxItem(
            id=-1,
            event_key=event.key(),
            page_id=event.page_id or PAGE_ID,
            psid=event.psid,
            kind=event.kind,
            payload=event.as_dict(),
            event_time=event.timestamp,
            attempts=0,
            standby=standby,
        )
        return await self.handle_item(item)

    async def handle_item(self, item: InboxItem) -> list[Effect]:
        self.last_effects = await self.dispatcher.handle(item)
        await self.store.inbox_complete([Handled(item.id, self.last_effects)])
        return self.last_effects

    async def context(self, *args: Any, **kwargs: Any) -> Context:
        return await self.dispatcher.context(*args, **kwargs)

    async def login_succeeded(self, grant: GrantRecord, requested: tuple[str, ...]) -> None:
        await self.store.inbox_add([login_succeeded_event(grant, requested)])

    async def login_failed(self, page_id: str, psid: str, reason: str) -> None:
        key = f"test-{next(_failures)}"
        await self.store.inbox_add([login_failed_event(page_id, psid, str(reason), attempt=key)])


_failures = itertools.count()


async def commit(store: Store, ctx: Context) -> None:
    """Commit what a context staged, as the worker does once its handler returned."""
    await store.inbox_complete([Handled(-1, list(ctx.effects))])
    ctx.effects.clear()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    await db.migrate()
    try:
        yield Store(db, TokenCipher([new_key()]))
    finally:
        await db.dispose()


@pytest.fixture
def facebook() -> FakeGraph:
    return FakeGraph()


@pytest.fixture
async def graph(facebook: FakeGraph) -> AsyncIterator[GraphClient]:
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(facebook)) as http:
        yield GraphClient(
            graph_base=GRAPH_BASE, app_id=APP_ID, app_secret=APP_SECRET, http=http, sleep=no_sleep
        )


@pytest.fixture
def links() -> LinkMaker:
    return LinkMaker()


@pytest.fixture
def runtime(graph: GraphClient, store: Store, links: LinkMaker) -> Runtime:
    return Runtime(
        graph=graph,
        store=store,
        page_token=PAGE_TOKEN,
        default_scopes=DEFAULT_SCOPES,
        login_links=links,
    )


@pytest.fixture
def bot() -> Bot:
    return Bot(name="test")


@pytest.fixture
def dispatcher(bot: Bot, runtime: Runtime, store: Store) -> Harness:
    return Harness(Dispatcher(bot, runtime), store)


async def grant(
    store: Store,
    psid: str = "alice",
    *,
    granted: tuple[str, ...] = ("user_likes",),
    declined: tuple[str, ...] = (),
    token: str = USER_TOKEN,
    flow: str = "web",
) -> GrantRecord:
    return await store.save_grant(
        page_id=PAGE_ID,
        psid=psid,
        asid="asid-1",
        access_token=token,
        scopes_granted=granted,
        scopes_declined=declined,
        expires_at=None,
        data_access_expires_at=None,
        flow=flow,
    )


def event(psid: str = "alice", **fields: Any) -> MessagingEvent:
    return MessagingEvent.model_validate(
        {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": 1000, **fields}
    )


def text(body: str | None, psid: str = "alice", **message: Any) -> MessagingEvent:
    return event(psid, message={"mid": "m1", "text": body, **message})


def postback(payload: str | None, psid: str = "alice") -> MessagingEvent:
    return event(psid, postback={"mid": "p1", "title": "Button", "payload": payload})


async def run_inbox(store: Store, dispatcher: Harness, *, rounds: int = 10) -> list[str]:
    """Handles what is queued in the inbox, as the inbox worker would (one event of each
    conversation at a time; events queued while handling, such as replays, in a later
    round). Returns the handled items' keys."""
    handled: list[str] = []
    for _ in range(rounds):
        items = await store.inbox_pending(datetime.now(UTC), 100)
        if not items:
            return handled
        for item in items:
            await dispatcher.handle_item(item)
            handled.append(item.event_key)
    raise AssertionError("the inbox did not drain")


async def sent(store: Store, psid: str = "alice") -> list[dict[str, Any]]:
    """Every payload queued in the outbox for the person, oldest first."""
    return [item.payload for item in await store.outbox_list() if item.psid == psid]


def template_text(message: dict[str, Any]) -> str:
    return str(message["attachment"]["payload"]["text"])


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return list(message["attachment"]["payload"]["buttons"])


async def waiting_request_and_login_in_progress(store: Store, psid: str = "alice") -> None:
    """Alice asked for something that needs user_posts, and her login for it is under way."""
    await store.save_pending_intent(
        page_id=PAGE_ID,
        psid=psid,
        scopes=["user_posts"],
        event=text("posts", psid=psid).as_dict(),
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    await store.create_attempt(
        state_hash="s1",
        ticket_id="t1",
        page_id=PAGE_ID,
        psid=psid,
        scopes=["user_posts"],
        flow="web",
        auth_type=None,
        linking_redirect_uri=None,
        code_verifier="v",
        browser_hash="b",
        client_kind="desktop",
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )

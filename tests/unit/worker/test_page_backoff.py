"""Per-page Send API backoff: a rate-limited page pauses (on every worker, through the store)
while the other pages keep sending, each with its own token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from botperms.graph import GraphClient
from botperms.store import PageDirectory, Store
from botperms.worker.outbox import OutboxWorker
from botperms.worker.page_backoff import PageBackoff
from botperms.worker.sending import Sender
from tests.unit.worker.conftest import APP_ID, APP_SECRET, GRAPH_BASE, graph_error

TOKENS = {"111": "EAApageAlpha0123456789abcdef", "222": "EAApageBravo0123456789abcdef"}
PAGE_OF = {token: page for page, token in TOKENS.items()}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class TwoPagesSendAPI:
    """POST /me/messages for two pages: which page sends is told by the token alone."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, str]] = []  # (page, text)
        self.limited: set[str] = set()  # pages answering 613

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        page = PAGE_OF[request.url.params["access_token"]]
        text = json.loads(request.content)["message"]["text"]
        self.attempts.append((page, text))
        if page in self.limited:
            return graph_error(613, message="Calls to this api have exceeded the rate limit.")
        return httpx.Response(200, json={"recipient_id": "p", "message_id": f"mid.{text}"})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def send_api() -> TwoPagesSendAPI:
    return TwoPagesSendAPI()


@pytest.fixture
async def two_page_graph(send_api: TwoPagesSendAPI) -> AsyncIterator[GraphClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(send_api)) as http:
        yield GraphClient(
            graph_base=GRAPH_BASE, app_id=APP_ID, app_secret=APP_SECRET, http=http, max_retries=0
        )


def make_worker(store: Store, graph: GraphClient, clock: Clock) -> OutboxWorker:
    sender = Sender(
        graph,
        PageDirectory.fixed(TOKENS).token,
        backoff=PageBackoff(store, base=10, refresh_seconds=0, clock=clock),
        clock=clock,
    )
    return OutboxWorker(store, sender, clock=clock)


async def one_pass(worker: OutboxWorker) -> None:
    await worker.run_once()
    await worker.drain()


async def test_strikes_double_the_pause_and_a_good_send_ends_them(store: Store) -> None:
    clock = Clock()
    backoff = PageBackoff(store, base=2, cap=5, refresh_seconds=0, clock=clock)
    first = await backoff.rate_limited("111", retry_after=None)
    assert first == clock.now + timedelta(seconds=2)
    # A send in flight when the limit hit: the same pause, not a second strike.
    assert await backoff.rate_limited("111", retry_after=None) == first
    clock.advance(2)
    assert await backoff.paused_pages() == frozenset()
    assert await backoff.rate_limited("111", retry_after=None) == clock.now + timedelta(seconds=4)
    clock.advance(4)
    assert await backoff.rate_limited("111", retry_after=None) == clock.now + timedelta(seconds=5)
    clock.advance(5)
    # Facebook's hint wins when it is longer than the doubling.
    hinted = await backoff.rate_limited("111", retry_after=60)
    assert hinted == clock.now + timedelta(seconds=60)
    await backoff.succeeded("111")
    assert await store.page_pauses() == []
    clock.advance(60)
    assert await backoff.rate_limited("111", retry_after=None) == clock.now + timedelta(seconds=2)


async def test_a_pause_is_seen_by_every_worker_through_the_store(store: Store) -> None:
    clock = Clock()
    one = PageBackoff(store, refresh_seconds=1, clock=clock)
    other = PageBackoff(store, refresh_seconds=1, clock=clock)
    assert await other.paused_pages() == frozenset()  # read now, cached for a second
    await one.rate_limited("222", retry_after=30, reason="613")
    assert await one.paused_pages() == {"222"}
    clock.advance(1)
    assert await other.paused_pages() == {"222"}
    assert other.paused_until("222") == clock.now + timedelta(seconds=29)
    await other.succeeded("222")  # its send went through after the pause: over for all
    clock.advance(1)
    assert await one.paused_pages() == frozenset()


async def test_a_rate_limited_page_waits_while_the_other_keeps_sending(
    store: Store, two_page_graph: GraphClient, send_api: TwoPagesSendAPI, clock: Clock
) -> None:
    worker = make_worker(store, two_page_graph, clock)
    send_api.limited.add("111")
    for n in range(3):
        await store.outbox_add("111", "alice", {"text": f"a{n}"})
        await store.outbox_add("111", f"person{n}", {"text": f"other-a{n}"})
        await store.outbox_add("222", "bob", {"text": f"b{n}"})
    await one_pass(worker)
    # One try for each of page 111's conversations hits the limit; page 222 is unaffected.
    assert {text for page, text in send_api.attempts if page == "111"} <= {
        "a0",
        "other-a0",
        "other-a1",
        "other-a2",
    }
    pauses = await store.page_pauses()
    assert [pause.page_id for pause in pauses] == ["111"]
    tried_alpha = len([page for page, _ in send_api.attempts if page == "111"])
    # Queued during the pause, in a conversation that has not been tried: it waits as well.
    await store.outbox_add("111", "dave", {"text": "during-pause"})
    for _ in range(3):
        clock.advance(1)
        await one_pass(worker)
    # Paused: none of page 111's messages is claimed, while bob's all went out in order.
    assert len([page for page, _ in send_api.attempts if page == "111"]) == tried_alpha
    assert [text for page, text in send_api.attempts if page == "222"] == ["b0", "b1", "b2"]
    # The pause ends and the limit is gone: page 111 sends everything, in order, with its token.
    send_api.limited.clear()
    clock.advance(10)
    for _ in range(4):
        await one_pass(worker)
        clock.advance(10)
    sent = await store.outbox_list(status="sent")
    alpha_sent = [item.payload["text"] for item in sent if item.psid == "alice"]
    assert alpha_sent == ["a0", "a1", "a2"]
    assert ("111", "during-pause") in send_api.attempts
    assert await store.outbox_list(status="pending") == []
    assert await store.page_pauses() == []


async def test_a_message_of_an_unknown_page_is_a_dead_letter(
    store: Store, two_page_graph: GraphClient, send_api: TwoPagesSendAPI, clock: Clock
) -> None:
    worker = make_worker(store, two_page_graph, clock)
    await store.outbox_add("333", "carol", {"text": "lost"})
    await one_pass(worker)
    dead = await store.outbox_list(status="dead")
    assert [item.payload["text"] for item in dead] == ["lost"]
    assert "333" in (dead[0].last_error or "")
    assert send_api.attempts == []

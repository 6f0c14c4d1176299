"""``serve --processes 2``'s sends: the handler half's outbox claims and records them, the web
half's Sender makes the call, across a real relay on a Unix socket. The same outcomes as in
one process; a call whose answer is lost with the link stays "sending" for the restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from botperms.graph import GraphClient
from botperms.relay import RelayClient, RelayServer
from botperms.store import NewInboxItem, OutboxItem, SendOutcome, Store
from botperms.worker.outbox import OutboxWorker
from botperms.worker.page_backoff import PageBackoff
from botperms.worker.remote_sending import (
    RemoteSender,
    answer_sends,
    item_from_wire,
    item_to_wire,
    outcome_from_wire,
    outcome_to_wire,
)
from botperms.worker.sending import Sender, SendFateUnknown, fixed_token
from tests.unit.worker.conftest import PAGE_ID, PAGE_TOKEN, FakeSendAPI, graph_error


async def nothing_to_store(items: Sequence[NewInboxItem]) -> None:
    raise AssertionError("no deliveries in these tests")


class Link:
    """The two halves' ends of one relay, in this process."""

    def __init__(self, socket: Path, sender: Sender) -> None:
        self.lost = asyncio.Event()
        self.server = RelayServer(socket, nothing_to_store, lambda: None, on_lost=self.lost.set)
        self.client = RelayClient(socket, answer=answer_sends(sender))

    async def open(self) -> None:
        await self.server.start()
        await self.client.connect(within=5)

    async def close(self) -> None:
        await self.server.stop()
        await self.client.close()


@pytest.fixture
async def link(tmp_path: Path, graph: GraphClient) -> AsyncIterator[Link]:
    opened = Link(tmp_path / "relay.sock", Sender(graph, fixed_token(PAGE_TOKEN)))
    await opened.open()
    yield opened
    await opened.close()


def remote_worker(store: Store, link: Link) -> OutboxWorker:
    return OutboxWorker(store, RemoteSender(link.server.ask, PageBackoff(store)))


def test_items_and_outcomes_cross_unchanged() -> None:
    item = OutboxItem(
        id=7,
        page_id=PAGE_ID,
        psid="5000",
        payload={"text": "héllo\nthere", "quick_replies": [{"title": "a"}]},
        messaging_type="MESSAGE_TAG",
        tag="ACCOUNT_UPDATE",
        attempts=2,
    )
    assert item_from_wire(item_to_wire(item)) == item
    later = datetime(2026, 12, 1, 12, 30, 15, 123456, tzinfo=UTC)
    for outcome in (
        SendOutcome(7, "sent", message_id="mid.1"),
        SendOutcome(7, "pending", error="(#2) temporarily unavailable", next_attempt_at=later),
        SendOutcome(7, "dead", error="(#100) invalid"),
    ):
        assert outcome_from_wire(outcome_to_wire(outcome)) == outcome


async def test_a_message_goes_out_through_the_web_half_and_is_recorded_here(
    store: Store, link: Link, facebook: FakeSendAPI
) -> None:
    sent = await store.outbox_add(PAGE_ID, "psid1", {"text": "hello"})
    worker = remote_worker(store, link)
    assert await worker.run_once() is True
    await worker.drain()
    assert facebook.delivered == [("psid1", "hello")]
    [done] = [entry for entry in await store.outbox_list() if entry.id == sent]
    assert (done.status, done.message_id, done.attempts) == ("sent", "mid.1", 1)


async def test_a_transient_error_comes_back_as_a_retry_and_a_permanent_one_as_dead(
    store: Store, link: Link, facebook: FakeSendAPI
) -> None:
    retried = await store.outbox_add(PAGE_ID, "psid1", {"text": "later"})
    dead = await store.outbox_add(PAGE_ID, "psid2", {"text": "never"})
    facebook.fail("later", graph_error(2, status=503, message="temporarily down"))
    facebook.fail("never", graph_error(100, message="invalid recipient"))
    worker = remote_worker(store, link)
    await worker.run_once()
    await worker.drain()
    by_id = {entry.id: entry for entry in await store.outbox_list()}
    assert by_id[retried].status == "pending"
    assert by_id[retried].next_attempt_at is not None
    assert by_id[dead].status == "dead"
    assert "invalid recipient" in (by_id[dead].last_error or "")


async def test_a_send_whose_answer_is_lost_with_the_link_stays_sending(
    store: Store, link: Link, facebook: FakeSendAPI
) -> None:
    # The Send API takes the call and does not answer yet.
    arrived, release = facebook.hold("in flight")
    queued = await store.outbox_add(PAGE_ID, "psid1", {"text": "in flight"})
    worker = remote_worker(store, link)
    await worker.run_once()
    await asyncio.wait_for(arrived.wait(), 5)  # the web half has made the call
    for writer in list(link.server._connections):  # the web half goes away
        writer.transport.abort()
    await worker.drain()  # the try ends, unrecorded
    assert link.lost.is_set()  # the handler half is told to stop (its restart resends)
    [entry] = [entry for entry in await store.outbox_list() if entry.id == queued]
    assert entry.status == "sending"
    assert await store.outbox_recover() == 1  # what the next start finds in doubt
    release.set()


async def test_a_send_waits_for_the_web_half_to_connect(
    tmp_path: Path, store: Store, graph: GraphClient, facebook: FakeSendAPI
) -> None:
    socket = tmp_path / "late.sock"
    server = RelayServer(socket, nothing_to_store, lambda: None)
    await server.start()
    await store.outbox_add(PAGE_ID, "psid1", {"text": "waits"})
    worker = OutboxWorker(store, RemoteSender(server.ask, PageBackoff(store)))
    await worker.run_once()
    await asyncio.sleep(0.2)
    assert facebook.delivered == []  # nobody to make the call yet, and nothing given up
    client = RelayClient(socket, answer=answer_sends(Sender(graph, fixed_token(PAGE_TOKEN))))
    await client.connect(within=5)
    await worker.drain()
    assert facebook.delivered == [("psid1", "waits")]
    await server.stop()
    await client.close()


async def test_a_bug_in_the_web_half_fails_the_try_instead_of_hanging_it(
    tmp_path: Path, store: Store
) -> None:
    async def broken(body: list[object]) -> list[object]:
        raise KeyError("a bug")

    socket = tmp_path / "bug.sock"
    server = RelayServer(socket, nothing_to_store, lambda: None)
    await server.start()
    client = RelayClient(socket, answer=broken)
    await client.connect(within=5)
    item = OutboxItem(7, PAGE_ID, "psid1", {"text": "x"}, "RESPONSE", None, 0)
    with pytest.raises(RuntimeError, match="KeyError"):
        await asyncio.wait_for(RemoteSender(server.ask, PageBackoff(store)).attempt(item), 5)
    await server.stop()
    await client.close()


async def test_fate_unknown_is_what_a_lost_link_raises(store: Store) -> None:
    async def hung_up(body: list[object]) -> list[object]:
        raise ConnectionResetError("gone")

    item = OutboxItem(7, PAGE_ID, "psid1", {"text": "x"}, "RESPONSE", None, 0)
    with pytest.raises(SendFateUnknown):
        await RemoteSender(hung_up, PageBackoff(store)).attempt(item)

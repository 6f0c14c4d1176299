"""OutboxWorker: sends, retries, rate limits, dead letters, per-conversation order, restarts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from botperms.graph import GraphClient
from botperms.store import Database, OutboxItem, Store, TokenCipher
from botperms.worker.outbox import OutboxWorker
from botperms.worker.sending import MAX_ATTEMPTS, Sender, fixed_token
from tests.unit.worker.conftest import (
    PAGE_ID,
    PAGE_TOKEN,
    FakeSendAPI,
    buc_header,
    graph_error,
    make_due,
    make_graph,
)


@pytest.fixture
def worker(store: Store, graph: GraphClient) -> OutboxWorker:
    return OutboxWorker(store, Sender(graph, fixed_token(PAGE_TOKEN)))


async def one_pass(worker: OutboxWorker) -> bool:
    """One pass, waited for to the end: its sends and their outcomes recorded."""
    started = await worker.run_once()
    await worker.drain()
    return started


async def queue(store: Store, psid: str, text: str, **options: Any) -> int:
    return await store.outbox_add(PAGE_ID, psid, {"text": text}, **options)


async def item(store: Store, item_id: int) -> OutboxItem:
    [found] = [entry for entry in await store.outbox_list() if entry.id == item_id]
    return found


async def drain(worker: OutboxWorker, db: Database, passes: int = 20) -> None:
    """Run passes (making retries due in between) until nothing is left to send."""
    for _ in range(passes):
        await make_due(db)
        if not await one_pass(worker):
            return
    raise AssertionError("the outbox did not drain")


async def test_a_message_is_sent_and_marked_with_its_message_id(
    store: Store, worker: OutboxWorker, facebook: FakeSendAPI
) -> None:
    sent = await queue(store, "psid1", "hello")
    assert await one_pass(worker) is True
    assert facebook.delivered == [("psid1", "hello")]
    done = await item(store, sent)
    assert (done.status, done.message_id, done.attempts, done.last_error) == (
        "sent",
        "mid.1",
        1,
        None,
    )
    assert await one_pass(worker) is False  # nothing left: the loop may go idle
    assert len(facebook.requests) == 1


async def test_messaging_type_and_tag_go_out_with_the_message(
    store: Store, worker: OutboxWorker, facebook: FakeSendAPI
) -> None:
    await queue(
        store,
        "psid1",
        "your order shipped",
        messaging_type="MESSAGE_TAG",
        tag="POST_PURCHASE_UPDATE",
    )
    await one_pass(worker)
    [request] = facebook.requests
    body = json.loads(request.content)
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "POST_PURCHASE_UPDATE")


async def test_a_sender_action_is_sent_without_a_message(
    store: Store, worker: OutboxWorker, facebook: FakeSendAPI
) -> None:
    action = await store.outbox_add(PAGE_ID, "psid1", {"sender_action": "typing_on"})
    await one_pass(worker)
    assert facebook.delivered == [("psid1", "typing_on")]
    done = await item(store, action)
    assert (done.status, done.message_id) == ("sent", None)


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        pytest.param(
            graph_error(1200, status=500, message="Temporary send message failure"),
            "Temporary send message failure (code 1200",
            id="code-1200",
        ),
        pytest.param(
            graph_error(2, status=503, message="Service temporarily unavailable"),
            "Service temporarily unavailable (code 2",
            id="code-2",
        ),
        pytest.param(
            httpx.Response(502, text="<html>Bad Gateway</html>"), "HTTP 502", id="http-502-not-json"
        ),
        pytest.param(httpx.Response(500, json={}), "HTTP 500", id="http-500-no-error-object"),
    ],
)
async def test_a_transient_error_is_retried_later_then_sent(
    store: Store,
    worker: OutboxWorker,
    facebook: FakeSendAPI,
    database: Database,
    response: httpx.Response,
    reason: str,
) -> None:
    facebook.fail("hello", response)
    sent = await queue(store, "psid1", "hello")
    before = datetime.now(UTC)

    await one_pass(worker)
    waiting = await item(store, sent)
    assert waiting.status == "pending"
    assert waiting.attempts == 1
    assert waiting.last_error is not None
    assert reason in waiting.last_error
    assert waiting.next_attempt_at is not None
    # Backoff for attempt 1 is between half a second and a second.
    assert before + timedelta(seconds=0.5) <= waiting.next_attempt_at
    assert waiting.next_attempt_at <= datetime.now(UTC) + timedelta(seconds=1)

    assert await one_pass(worker) is False  # not due yet: no second request
    assert len(facebook.requests) == 1

    await make_due(database)
    await one_pass(worker)
    done = await item(store, sent)
    assert (done.status, done.attempts, done.message_id) == ("sent", 2, "mid.1")
    assert facebook.labels("psid1") == ["hello", "hello"]


async def test_the_clients_own_retries_absorb_a_short_transient_error(
    store: Store, facebook: FakeSendAPI, http: httpx.AsyncClient
) -> None:
    # With client-side retries on, a 1200 answered once is retried inside the same attempt,
    # through the injected sleep (no real waiting).
    graph = make_graph(facebook, http, max_retries=2)
    worker = OutboxWorker(store, Sender(graph, fixed_token(PAGE_TOKEN)))
    facebook.fail("hello", graph_error(1200, status=500))
    sent = await queue(store, "psid1", "hello")
    await one_pass(worker)
    done = await item(store, sent)
    assert (done.status, done.attempts) == ("sent", 1)
    assert len(facebook.requests) == 2
    assert len(facebook.sleeps) == 1


@pytest.mark.parametrize("code", [613, 4])
async def test_a_rate_limit_is_retried_no_earlier_than_facebook_asks(
    store: Store, graph: GraphClient, facebook: FakeSendAPI, code: int
) -> None:
    # The page's pause (worker/page_backoff.py) runs on the same clock as the retries.
    now = [datetime.now(UTC) + timedelta(seconds=1)]  # messages queued now are due

    def clock() -> datetime:
        return now[0]

    worker = OutboxWorker(store, Sender(graph, fixed_token(PAGE_TOKEN), clock=clock), clock=clock)
    facebook.fail(
        "hello",
        graph_error(
            code,
            status=400,
            message="Calls to this api have exceeded the rate limit.",
            headers=buc_header(minutes=5),
        ),
    )
    sent = await queue(store, "psid1", "hello")
    before = clock()
    await one_pass(worker)
    waiting = await item(store, sent)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at >= before + timedelta(minutes=5)
    assert waiting.last_error is not None
    assert "rate limit" in waiting.last_error

    assert await one_pass(worker) is False
    assert len(facebook.requests) == 1

    now[0] += timedelta(minutes=5, seconds=1)
    await one_pass(worker)
    assert (await item(store, sent)).status == "sent"


async def test_a_rate_limit_without_a_hint_backs_off_like_any_transient_error(
    store: Store, worker: OutboxWorker, facebook: FakeSendAPI
) -> None:
    facebook.fail(
        "hello", graph_error(613, message="Calls to this api have exceeded the rate limit.")
    )
    sent = await queue(store, "psid1", "hello")
    await one_pass(worker)
    waiting = await item(store, sent)
    assert waiting.status == "pending"
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at <= datetime.now(UTC) + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        pytest.param(
            graph_error(551, message="This person isn't available right now."),
            "This person isn't available right now. (code 551",
            id="551-user-unavailable",
        ),
        pytest.param(
            graph_error(10, 2018278, status=400, message="Message sent outside allowed window."),
            "Message sent outside allowed window. (code 10/2018278",
            id="10-2018278-outside-window",
        ),
        pytest.param(
            graph_error(100, 2018001, message="No matching user found"),
            "No matching user found (code 100/2018001",
            id="100-2018001-no-such-user",
        ),
        pytest.param(
            graph_error(
                190,
                status=401,
                message=f"Error validating access token: the session is invalid ({PAGE_TOKEN})",
            ),
            "Error validating access token: the session is invalid ([redacted]) (code 190",
            id="190-invalid-token",
        ),
        pytest.param(
            graph_error(100, message="(#100) Param message[text] must be non-empty."),
            "Param message[text] must be non-empty. (code 100",
            id="100-invalid-parameter",
        ),
    ],
)
async def test_a_permanent_error_is_dead_lettered_with_its_reason_and_never_retried(
    store: Store,
    worker: OutboxWorker,
    facebook: FakeSendAPI,
    database: Database,
    response: httpx.Response,
    reason: str,
) -> None:
    facebook.fail("hello", response)
    dead = await queue(store, "psid1", "hello")
    after = await queue(store, "psid1", "are you there?")

    await one_pass(worker)
    letter = await item(store, dead)
    assert (letter.status, letter.attempts) == ("dead", 1)
    assert letter.last_error is not None
    assert reason in letter.last_error
    assert PAGE_TOKEN not in letter.last_error

    await drain(worker, database)
    # Never retried; the dead letter does not hold the conversation back.
    assert facebook.labels("psid1") == ["hello", "are you there?"]
    assert (await item(store, dead)).status == "dead"
    assert (await item(store, after)).status == "sent"


async def test_a_message_is_dead_lettered_after_max_attempts(
    store: Store, worker: OutboxWorker, facebook: FakeSendAPI, database: Database
) -> None:
    facebook.fail("hello", *(graph_error(1200, status=500) for _ in range(MAX_ATTEMPTS + 5)))
    sent = await queue(store, "psid1", "hello")
    for attempt in range(1, MAX_ATTEMPTS):
        await one_pass(worker)
        waiting = await item(store, sent)
        assert (waiting.status, waiting.attempts) == ("pending", attempt)
        await make_due(database)
    await one_pass(worker)
    letter = await item(store, sent)
    assert (letter.status, letter.attempts) == ("dead", MAX_ATTEMPTS)
    assert letter.last_error is not None
    assert "code 1200" in letter.last_error

    await make_due(database)
    assert await one_pass(worker) is False
    assert len(facebook.requests) == MAX_ATTEMPTS


async def test_backoff_grows_with_each_attempt(
    store: Store, worker: OutboxWorker, facebook: FakeSendAPI, database: Database
) -> None:
    facebook.fail("hello", *(graph_error(1200, status=500) for _ in range(4)))
    sent = await queue(store, "psid1", "hello")
    waits: list[float] = []
    for _ in range(4):
        started = datetime.now(UTC)
        await one_pass(worker)
        waiting = await item(store, sent)
        assert waiting.next_attempt_at is not None
        waits.append((waiting.next_attempt_at - started).total_seconds())
        await make_due(database)
    # Attempt n waits between 2**(n-2) and 2**(n-1) seconds.
    for attempt, wait in enumerate(waits, start=1):
        assert 2 ** (attempt - 2) - 0.05 <= wait <= 2 ** (attempt - 1) + 0.5, (attempt, waits)


async def test_a_conversation_goes_out_in_order_while_others_proceed(
    store: Store, worker: OutboxWorker, facebook: FakeSendAPI, database: Database
) -> None:
    facebook.fail("a1", graph_error(1200, status=500))
    a1 = await queue(store, "alice", "a1")
    a2 = await queue(store, "alice", "a2")
    b1 = await queue(store, "bob", "b1")
    b2 = await queue(store, "bob", "b2")

    await one_pass(worker)  # a1 fails, b1 goes out
    assert facebook.attempts == [("alice", "a1"), ("bob", "b1")]
    await one_pass(worker)  # a1 waits for its retry, so a2 waits too; bob goes on
    assert facebook.labels("alice") == ["a1"]
    assert facebook.labels("bob") == ["b1", "b2"]
    assert (await item(store, a2)).attempts == 0

    await make_due(database)
    await one_pass(worker)
    assert facebook.labels("alice") == ["a1", "a1"]  # a2 only after a1 has succeeded
    await one_pass(worker)
    assert facebook.labels("alice") == ["a1", "a1", "a2"]
    assert facebook.delivered == [("bob", "b1"), ("bob", "b2"), ("alice", "a1"), ("alice", "a2")]
    for sent in (a1, a2, b1, b2):
        assert (await item(store, sent)).status == "sent"


async def test_conversations_are_sent_concurrently(
    store: Store, worker: OutboxWorker, facebook: FakeSendAPI
) -> None:
    # Alice's send is held until Bob's has reached Facebook: one at a time would never finish.
    alice_arrived, alice_release = facebook.hold("a1")
    bob_arrived, bob_release = facebook.hold("b1")
    await queue(store, "alice", "a1")
    await queue(store, "bob", "b1")
    pass_task = asyncio.create_task(one_pass(worker))
    async with asyncio.timeout(5):  # a guard against a hang, not a wait
        await alice_arrived.wait()
        await bob_arrived.wait()
    alice_release.set()
    bob_release.set()
    assert await pass_task is True
    assert sorted(facebook.delivered) == [("alice", "a1"), ("bob", "b1")]


async def test_a_restart_loses_nothing_pending(
    db_url: str, cipher: TokenCipher, facebook: FakeSendAPI, http: httpx.AsyncClient
) -> None:
    first_db = Database(db_url)
    await first_db.migrate()
    first = Store(first_db, cipher)
    facebook.fail("a1", graph_error(1200, status=500))
    await first.outbox_add(PAGE_ID, "alice", {"text": "a1"})
    await first.outbox_add(PAGE_ID, "alice", {"text": "a2"})
    await first.outbox_add(PAGE_ID, "bob", {"text": "b1"})
    await one_pass(OutboxWorker(first, Sender(make_graph(facebook, http), fixed_token(PAGE_TOKEN))))
    await first.outbox_add(PAGE_ID, "carol", {"text": "c1"})  # queued, never tried
    await first_db.dispose()

    second_db = Database(db_url)
    await second_db.migrate()  # idempotent, as at every start
    try:
        second = Store(second_db, cipher)
        assert [entry.psid for entry in await second.outbox_list(status="pending")] == [
            "alice",
            "alice",
            "carol",
        ]
        worker = OutboxWorker(second, Sender(make_graph(facebook, http), fixed_token(PAGE_TOKEN)))
        await drain(worker, second_db)
        assert await second.outbox_list(status="pending") == []
        assert [entry.status for entry in await second.outbox_list()] == ["sent"] * 4
    finally:
        await second_db.dispose()
    assert facebook.labels("alice") == ["a1", "a1", "a2"]
    assert sorted(facebook.delivered) == [
        ("alice", "a1"),
        ("alice", "a2"),
        ("bob", "b1"),
        ("carol", "c1"),
    ]


@pytest.mark.parametrize(
    ("payload", "options", "reason"),
    [
        pytest.param(
            {"text": "x"}, {"messaging_type": "MESSAGE_TAG"}, "needs a tag", id="tag-missing"
        ),
        pytest.param(
            {"text": "x"}, {"messaging_type": "LATER"}, "messaging_type 'LATER'", id="bad-type"
        ),
        pytest.param({"sender_action": "wave"}, {}, "sender action 'wave'", id="bad-action"),
    ],
)
async def test_a_message_that_can_never_be_sent_is_dead_lettered_not_retried(
    store: Store,
    worker: OutboxWorker,
    facebook: FakeSendAPI,
    database: Database,
    payload: dict[str, Any],
    options: dict[str, Any],
    reason: str,
) -> None:
    bad = await store.outbox_add(PAGE_ID, "psid1", payload, **options)
    later = await queue(store, "psid1", "next")
    await one_pass(worker)  # must not raise: one bad row cannot stall the outbox
    letter = await item(store, bad)
    assert letter.status == "dead"
    assert letter.last_error is not None
    assert reason in letter.last_error
    await drain(worker, database)
    assert (await item(store, later)).status == "sent"
    assert facebook.attempts == [("psid1", "next")]


async def test_a_send_in_flight_is_never_claimed_twice(
    store: Store, worker: OutboxWorker, facebook: FakeSendAPI
) -> None:
    # While alice's send waits for its answer it is "sending" in the store: passes that run
    # meanwhile must not send it again (nor her next message, which would overtake it).
    arrived, release = facebook.hold("a1")
    await queue(store, "alice", "a1")
    await queue(store, "alice", "a2")
    assert await worker.run_once() is True
    async with asyncio.timeout(5):
        await arrived.wait()
    assert await worker.run_once() is False
    release.set()
    await worker.drain()
    assert await one_pass(worker) is True
    assert facebook.attempts == [("alice", "a1"), ("alice", "a2")]


async def test_a_failed_sender_action_is_dropped_not_retried_and_holds_nothing_back(
    store: Store, worker: OutboxWorker, facebook: FakeSendAPI, database: Database
) -> None:
    # Transient on every try: a message would wait for its retry, a typing indicator must not.
    facebook.fail("typing_on", *(graph_error(1200, status=500) for _ in range(20)))
    action = await store.outbox_add(PAGE_ID, "psid1", {"sender_action": "typing_on"})
    after = await queue(store, "psid1", "here are your likes")
    await drain(worker, database)
    dropped = await item(store, action)
    assert (dropped.status, dropped.attempts) == ("dead", 1)
    assert dropped.last_error is not None
    assert dropped.last_error.startswith("sender action not retried: ")
    assert (await item(store, after)).status == "sent"
    assert facebook.delivered == [("psid1", "here are your likes")]

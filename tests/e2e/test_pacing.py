"""Pacing against fakebook answering high usage headers: a page's sends are spaced out, or
paused, before any call fails. Real HTTP to a real fakebook; small real delays."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from itertools import pairwise

import httpx
import pytest

from botperms.graph import GraphClient
from botperms.graph.usage import Pacer, PacingPolicy
from botperms.store import Database, Store, TokenCipher
from botperms.worker import OutboxWorker
from botperms.worker.sending import Sender, fixed_token
from tests.e2e.conftest import PAGE_ID, PAGE_TOKEN, Stack
from tests.e2e.person import Person

POLICY = PacingPolicy(slow_from=75, pause_from=95, max_spacing=0.4, pause=0.6)


@dataclass
class Rig:
    stack: Stack
    http: httpx.AsyncClient
    store: Store
    worker: OutboxWorker
    people: list[Person]

    async def usage(self, percent: float) -> None:
        rule = {"path_contains": "/messages", "business_use_case_usage": {"call_count": percent}}
        answer = await self.http.post(f"{self.stack.fb}/_fakebook/usage", json=rule)
        answer.raise_for_status()

    async def send_to(self, people: list[Person]) -> list[int]:
        """Queue one message to each, send them all; fakebook's times of arrival (ms)."""
        before = len((await self.http.get(f"{self.stack.fb}/_fakebook/sent")).json())
        for person in people:
            await self.store.outbox_add(PAGE_ID, person.psid, {"text": f"hi {person.psid}"})
        while await self.worker.run_once():
            pass
        await self.worker.drain()
        sent = (await self.http.get(f"{self.stack.fb}/_fakebook/sent")).json()[before:]
        assert len(sent) == len(people)
        return sorted(int(entry["time"]) for entry in sent)


@pytest.fixture
async def rig(make_stack: Callable[..., Stack], client: httpx.AsyncClient) -> AsyncIterator[Rig]:
    # The bot's own workers stay off: this test's outbox worker is the only sender.
    stack = make_stack(run_workers=False)
    people = [await Person.pick(stack, client, index) for index in range(4)]
    for person in people:
        await person.say("hi")  # opens the 24-hour window
    database = Database(stack.settings.database_url)
    store = Store(database, TokenCipher([k.get_secret_value() for k in stack.settings.token_keys]))
    graph = GraphClient.from_settings(stack.settings)
    sender = Sender(graph, fixed_token(PAGE_TOKEN), pacer=Pacer(POLICY))
    try:
        yield Rig(stack, client, store, OutboxWorker(store, sender), people)
    finally:
        await graph.aclose()
        await database.dispose()


def gaps(times: list[int]) -> list[int]:
    return [later - earlier for earlier, later in pairwise(times)]


async def test_low_usage_sends_at_once(rig: Rig) -> None:
    await rig.usage(20)
    await rig.send_to(rig.people[:1])
    times = await rig.send_to(rig.people[1:])
    assert times[-1] - times[0] < 300  # three sends in parallel, nothing waited for


async def test_high_usage_spaces_a_pages_sends_out(rig: Rig) -> None:
    await rig.usage(85)  # halfway from 75 % to 95 %: 0.2 s between sends
    await rig.send_to(rig.people[:1])  # its answer tells the pacer
    times = await rig.send_to(rig.people[1:])
    assert all(gap >= 190 for gap in gaps(times)), gaps(times)
    assert not (await rig.store.outbox_list(status="dead"))


async def test_near_the_limit_sends_pause_then_go_one_at_a_time(rig: Rig) -> None:
    await rig.usage(97)
    first = await rig.send_to(rig.people[:1])
    times = await rig.send_to(rig.people[1:3])
    # The pause (0.6 s) from the first answer, then max_spacing (0.4 s) between the next two.
    assert times[0] - first[0] >= 590
    assert gaps(times) == [pytest.approx(400, abs=150)]
    assert [item.status for item in await rig.store.outbox_list()] == ["sent"] * 3

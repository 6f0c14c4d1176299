"""The relay over a real Unix socket: a delivery is answered only after the handler half has
stored it, its failures come back as StorageUnavailable (the webhook's 503), and the web half
reconnects to a handler half that was restarted."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from botperms.relay import RelayClient, RelayServer
from botperms.relay.frames import add_frame, read_frame
from botperms.store import NewInboxItem, StorageUnavailable
from tests.unit.relay.test_frames import item


class Handlers:
    """The handler half's intake: records what it stored; can be held or made to fail."""

    def __init__(self) -> None:
        self.stored: list[list[NewInboxItem]] = []
        self.wakes = 0
        self.release = asyncio.Event()
        self.release.set()
        self.fail: str | None = None

    async def intake(self, items: Sequence[NewInboxItem]) -> None:
        await self.release.wait()
        if self.fail is not None:
            raise StorageUnavailable(self.fail)
        self.stored.append(list(items))

    def wake(self) -> None:
        self.wakes += 1


@pytest.fixture
def socket(tmp_path: Path) -> Path:
    return tmp_path / "relay.sock"


async def linked(socket: Path) -> tuple[Handlers, RelayServer, RelayClient]:
    """A handler half listening on ``socket``, and a web half connected to it."""
    handlers = Handlers()
    server = RelayServer(socket, handlers.intake, handlers.wake)
    await server.start()
    client = RelayClient(socket)
    await client.connect()
    return handlers, server, client


async def test_a_delivery_is_answered_after_it_is_stored(socket: Path) -> None:
    handlers, server, client = await linked(socket)
    handlers.release.clear()
    first = asyncio.create_task(client.submit([item(), item(event_key="m.2")]))
    await asyncio.sleep(0.1)
    assert not first.done()  # held: not stored, so not answered
    handlers.release.set()
    await asyncio.wait_for(first, 5)
    assert handlers.stored == [[item(), item(event_key="m.2")]]
    assert handlers.wakes == 1  # the inbox worker is woken after the commit
    # Concurrent deliveries are answered each by its own id.
    await asyncio.gather(*(client.submit([item(event_key=f"c.{n}")]) for n in range(20)))
    assert sorted(batch[0].event_key for batch in handlers.stored[1:]) == sorted(
        f"c.{n}" for n in range(20)
    )
    await client.close()
    await server.stop()


async def test_a_store_failure_comes_back_as_storage_unavailable(socket: Path) -> None:
    handlers = Handlers()
    handlers.fail = "database or disk is full"
    server = RelayServer(socket, handlers.intake, handlers.wake)
    await server.start()
    client = RelayClient(socket)
    with pytest.raises(StorageUnavailable, match="disk is full"):
        await client.submit([item()])
    assert handlers.wakes == 0
    handlers.fail = None
    await client.submit([item()])  # the link itself is still up
    assert len(handlers.stored) == 1
    await client.close()
    await server.stop()


async def test_no_handler_half_means_storage_unavailable(socket: Path) -> None:
    client = RelayClient(socket)
    with pytest.raises(StorageUnavailable, match="not answering"):
        await client.submit([item()])
    client.wake()  # no handler half to wake: nothing happens, nothing raises


async def test_a_handler_half_that_dies_fails_what_waits_and_a_new_one_is_found(
    socket: Path,
) -> None:
    handlers, server, client = await linked(socket)
    handlers.release.clear()
    waiting = asyncio.create_task(client.submit([item()]))
    await asyncio.sleep(0.1)
    # The handler half goes away with the delivery in hand (its stop hangs up).
    stopping = asyncio.create_task(server.stop())
    await asyncio.sleep(0.1)
    handlers.release.set()
    await stopping
    # It was stored before the hang-up, and answered: stop finishes what was handed over.
    await asyncio.wait_for(waiting, 5)
    assert len(handlers.stored) == 1
    with pytest.raises(StorageUnavailable):
        await client.submit([item(event_key="m.2")])
    assert not client.ready()  # /healthz says 503
    # A new handler half on the same socket: the client finds it by itself.
    again = Handlers()
    restarted = RelayServer(socket, again.intake, again.wake)
    await restarted.start()
    for _ in range(100):
        if client.ready():
            break
        await asyncio.sleep(0.05)
    assert client.ready()
    await client.submit([item(event_key="m.3")])
    assert again.stored == [[item(event_key="m.3")]]
    await client.close()
    await restarted.stop()


async def test_a_connection_lost_with_a_delivery_in_hand_fails_it(socket: Path) -> None:
    """The handler half killed mid-commit: the web half answers 503, and Facebook's
    redelivery is deduplicated if the commit did happen."""
    handlers, server, client = await linked(socket)
    handlers.release.clear()
    waiting = asyncio.create_task(client.submit([item()]))
    await asyncio.sleep(0.1)
    for writer in list(server._connections):  # the socket closes, as a kill would close it
        writer.transport.abort()
    with pytest.raises(StorageUnavailable, match="went away"):
        await asyncio.wait_for(waiting, 5)
    handlers.release.set()
    await client.close()
    await server.stop()


async def test_a_slow_handler_half_is_given_up_on_in_time(socket: Path) -> None:
    handlers = Handlers()
    handlers.release.clear()
    server = RelayServer(socket, handlers.intake, handlers.wake)
    await server.start()
    client = RelayClient(socket, answer_within=0.2)
    with pytest.raises(StorageUnavailable, match=r"within 0\.2 s"):
        await client.submit([item()])
    handlers.release.set()
    await client.submit([item(event_key="m.2")])  # its late answer did not confuse the next
    await client.close()
    await server.stop()


async def test_wake_reaches_the_handler_half(socket: Path) -> None:
    handlers, server, client = await linked(socket)
    client.wake()
    for _ in range(50):
        if handlers.wakes:
            break
        await asyncio.sleep(0.02)
    assert handlers.wakes == 1
    await client.close()
    await server.stop()


async def test_the_handler_half_reports_every_interval_and_once_more_at_stop(
    socket: Path,
) -> None:
    handlers = Handlers()
    reports: list[list[object]] = []
    count = [0]

    def report() -> list[object]:
        count[0] += 1
        return [count[0]]

    server = RelayServer(socket, handlers.intake, handlers.wake, report=report, report_every=0.05)
    await server.start()
    client = RelayClient(socket, on_report=reports.append)
    await client.connect()
    for _ in range(100):
        if len(reports) >= 2:
            break
        await asyncio.sleep(0.02)
    assert reports[:2] == [[1], [2]]
    await server.stop()
    for _ in range(50):
        if reports[-1] == [count[0]]:
            break
        await asyncio.sleep(0.02)
    assert reports[-1] == [count[0]]  # the last counts, after the workers drained
    await client.close()


async def test_a_garbled_line_is_logged_and_the_link_goes_on(socket: Path) -> None:
    """Only our web half writes to the socket, so a bad frame is a bug of ours: the handler
    half logs it and keeps serving the deliveries after it."""
    handlers = Handlers()
    server = RelayServer(socket, handlers.intake, handlers.wake)
    await server.start()
    reader, writer = await asyncio.open_unix_connection(str(socket))
    for garbage in (b"not json\n", b"[1, 2]\n", b'{"id": 1, "add": [["short"]]}\n'):
        writer.write(garbage)
    writer.write(add_frame(2, [item()]))
    assert read_frame(await asyncio.wait_for(reader.readline(), 5)) == {"id": 2}
    assert handlers.stored == [[item()]]
    writer.close()
    await server.stop()

"""Slow and hostile clients against botperms' uvicorn server (botperms.web.server), over real
loopback sockets: slowloris headers, a trickled body, and the connection cap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import uvicorn

from botperms.web.server import Limits, build_server

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def echo_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Reads the whole body and answers its length (the way the webhook reads its body)."""
    if scope["type"] != "http":
        return
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


async def _serve(server: uvicorn.Server) -> AsyncIterator[str]:
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn has no start-up event, only this flag
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "server did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


def make_server(limits: Limits | None, *, prefer_httptools: bool = True) -> uvicorn.Server:
    return build_server(
        echo_app, host="127.0.0.1", port=0, limits=limits, log_level="warning",
        lifespan="off", prefer_httptools=prefer_httptools,
    )  # fmt: skip


@pytest.fixture(params=["httptools", "h11"])
async def address(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The default limits, on both of uvicorn's HTTP/1.1 parsers."""
    async for address in _serve(make_server(None, prefer_httptools=request.param == "httptools")):
        yield address


@pytest.fixture
async def short_address() -> AsyncIterator[str]:
    async for address in _serve(
        make_server(Limits(header_timeout=0.5, request_timeout=1.0, max_connections=4))
    ):
        yield address


async def _open(address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = address.split(":")
    return await asyncio.open_connection(host, int(port))


async def _slowloris(address: str) -> tuple[float, bytes]:
    """Sends a request line, then one more header line every half second, never the blank
    line; returns when the server closes the connection: (seconds open, what it answered)."""
    reader, writer = await _open(address)
    opened = time.monotonic()
    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    answer = b""
    try:
        for n in range(60):  # bounded: 30 s at most
            try:
                chunk = await asyncio.wait_for(reader.read(1024), 0.5)
            except TimeoutError:
                writer.write(f"X-Slow-{n}: x\r\n".encode())
                continue
            if not chunk:
                break
            answer += chunk
        return time.monotonic() - opened, answer
    finally:
        writer.close()


async def test_100_slowloris_connections_are_closed_while_a_normal_request_stays_fast(
    address: str,
) -> None:
    started = time.monotonic()
    attackers = [asyncio.create_task(_slowloris(address)) for _ in range(100)]
    await asyncio.sleep(1)  # let them all connect and start trickling
    async with httpx.AsyncClient(base_url=f"http://{address}") as client:
        before = time.monotonic()
        response = await client.post("/", content=b"hello")
        normal = time.monotonic() - before
    assert response.status_code == 200
    assert response.text == "5"
    assert normal < 0.5, f"a normal request took {normal:.2f}s among 100 slow ones"

    results = await asyncio.wait_for(asyncio.gather(*attackers), 20)
    total = time.monotonic() - started
    assert all(seconds < 10 for seconds, _ in results), max(s for s, _ in results)
    assert all(answer.startswith(b"HTTP/1.1 408 ") for _, answer in results)
    assert total < 10, f"closing 100 slow connections took {total:.1f}s"


async def test_a_trickled_body_is_cut_off_at_the_request_deadline(short_address: str) -> None:
    reader, writer = await _open(short_address)
    opened = time.monotonic()
    writer.write(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n")
    answer = b""
    for _ in range(40):  # bounded: 4 s at most; the deadline is 1 s
        try:
            chunk = await asyncio.wait_for(reader.read(1024), 0.1)
        except TimeoutError:
            writer.write(b"x")
            continue
        if not chunk:
            break
        answer += chunk
    open_for = time.monotonic() - opened
    writer.close()
    assert answer == b""  # the app never got the whole body, so it never answered
    assert 0.9 < open_for < 2.0


async def test_a_whole_request_sent_in_pieces_within_the_deadline_is_served(
    short_address: str,
) -> None:
    reader, writer = await _open(short_address)
    for piece in (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"Content-Length: 3\r\n\r\n", b"abc"):
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0.1)
    answer = await asyncio.wait_for(reader.readuntil(b"3"), 2)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 ")


async def test_keep_alive_requests_each_get_their_own_deadline(short_address: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{short_address}") as client:
        for _ in range(3):  # 3 × 0.4 s on one connection: past one request's deadline
            assert (await client.post("/", content=b"ab")).text == "2"
            await asyncio.sleep(0.4)


async def test_past_the_connection_cap_requests_get_503_until_slots_free(
    short_address: str,
) -> None:
    # max_connections=4: uvicorn serves while fewer than 4 connections are open.
    holders = [await _open(short_address) for _ in range(3)]
    for _, writer in holders:
        writer.write(b"GET / HTTP/1.1\r\n")
    async with httpx.AsyncClient(base_url=f"http://{short_address}") as client:
        assert (await client.get("/")).status_code == 503
        for reader, _ in holders:  # the header deadline frees the slots
            assert (await asyncio.wait_for(reader.read(), 3)).startswith(b"HTTP/1.1 408 ")
        for _, writer in holders:
            writer.close()
    async with httpx.AsyncClient(base_url=f"http://{short_address}") as client:
        for _ in range(50):  # until the server has seen the closes (bounded)
            response = await client.get("/")
            if response.status_code == 200:
                break
            await asyncio.sleep(0.02)
        assert response.status_code == 200


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="header_timeout"):
        Limits(header_timeout=5, request_timeout=1)
    with pytest.raises(ValueError, match="max_connections"):
        Limits(max_connections=1)

"""The production transport against real sockets: answers, refused connections, time-outs."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest

from botperms.graph.transport import ReqwestTransport, TransportFailure


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A loopback HTTP server that echoes the request line and body as JSON, keep-alive."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await reader.readexactly(length) if length else b""
            seen.append(head.split(b"\r\n")[0])
            if b"/slow" in head:
                await asyncio.sleep(5)
            answer = json.dumps({"line": head.split(b"\r\n")[0].decode(), "body": body.decode()})
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-App-Usage: {}\r\n"
                + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                + answer.encode()
            )
            await writer.drain()
            if reader.at_eof():
                return

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield f"http://127.0.0.1:{port}", seen
        listener.close()


async def test_request_sends_query_and_json_and_reads_the_answer(
    server: tuple[str, list[bytes]],
) -> None:
    base, seen = server
    transport = ReqwestTransport(max_connections=2)
    try:
        for _ in range(3):
            response = await transport.request(
                "POST", f"{base}/v25.0/me/messages", [("access_token", "t k")], {"a": [1]}, 5.0
            )
        assert response.status == 200
        assert response.headers["x-app-usage"] == "{}"
        data = json.loads(response.body)
        assert data["line"] == "POST /v25.0/me/messages?access_token=t+k HTTP/1.1"
        assert json.loads(data["body"]) == {"a": [1]}
        assert len(seen) == 3
    finally:
        await transport.aclose()


async def test_refused_connection_is_not_sent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = ReqwestTransport()
    try:
        with pytest.raises(TransportFailure) as caught:
            await transport.request("POST", f"http://127.0.0.1:{port}/x", [], None, 2.0)
        assert caught.value.not_sent
        assert not caught.value.timed_out
        assert "127.0.0.1" not in str(caught.value)
    finally:
        await transport.aclose()


async def test_timeout_is_ambiguous(server: tuple[str, list[bytes]]) -> None:
    base, _ = server
    transport = ReqwestTransport()
    try:
        with pytest.raises(TransportFailure) as caught:
            await transport.request("POST", f"{base}/slow", [], {"x": 1}, 0.2)
        assert caught.value.timed_out
        assert not caught.value.not_sent
    finally:
        await transport.aclose()

"""An instant Send API for the benchmark: answers every POST at once and counts what it got.

    python bench/fake_send_api.py --port 9100

Any ``POST`` answers ``{"recipient_id": ..., "message_id": ...}``; each message's text is
counted, so the benchmark can audit every reply (lost, duplicated). ``GET /_stats`` answers
``{"requests": N, "texts": {text: count}}``; ``POST /_reset`` clears the counts. It is a raw
asyncio protocol on httptools (uvloop when available), so that it costs the machine as little
as possible next to the servers being measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from typing import Any

import httptools

STATS: dict[str, Any] = {"requests": 0, "texts": Counter()}
# Seconds each send waits before its answer (--delay-ms): 0 is the benchmark's instant API;
# the crash tests use a few milliseconds, as Facebook's answers take, so sends are in flight.
DELAY = 0.0


class SendAPI(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: Any = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports are not asyncio.Transport subclasses

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method()
        if method == b"GET" and self.url.startswith(b"/_stats"):
            answer = json.dumps(STATS).encode()
        elif self.url.startswith(b"/_reset"):
            STATS["requests"] = 0
            STATS["texts"] = Counter()
            answer = b"{}"
        else:
            STATS["requests"] += 1
            recipient = "0"
            try:
                data = json.loads(b"".join(self.body))
                recipient = str(data.get("recipient", {}).get("id", "0"))
                text = data.get("message", {}).get("text")
                if text is not None:
                    STATS["texts"][text] += 1
            except ValueError:
                pass
            answer = b'{"recipient_id":"%s","message_id":"m.%d"}' % (
                recipient.encode(),
                STATS["requests"],
            )
        response = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(answer), answer)
        )
        keep_alive = self.parser.should_keep_alive()
        if DELAY and method == b"POST" and not self.url.startswith(b"/_"):
            asyncio.get_running_loop().call_later(DELAY, self._answer, response, keep_alive)
        else:
            self._answer(response, keep_alive)

    def _answer(self, response: bytes, keep_alive: bool) -> None:
        if self.transport.is_closing():
            return
        self.transport.write(response)
        if not keep_alive:
            self.transport.close()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(SendAPI, host, port, backlog=1024, reuse_address=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="answer each send this late")
    args = parser.parse_args()
    global DELAY
    DELAY = args.delay_ms / 1000
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()

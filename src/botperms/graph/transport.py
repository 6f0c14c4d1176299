"""How Graph requests reach the network: pyreqwest in production, any httpx client in tests.

Measured on a 2-core machine against a local server that answers at once (keep-alive, 64
requests in flight): httpx 0.28 cost about 2.0 ms of CPU per request, aiohttp 3.14 0.27–0.40
ms, pyreqwest 0.15 0.18 ms (all of the process's threads counted), with 2.5 times aiohttp's
requests per second. The Send API is the hot path of every reply, so production uses
pyreqwest; tests keep httpx's ``MockTransport`` as their seam through :class:`HttpxTransport`.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import httpx

Query = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


class TransportFailure(Exception):
    """The request got no HTTP answer. ``not_sent``: it surely never reached the server (a
    connect failure), so replaying it cannot duplicate anything. The message never carries the
    URL: its query string holds the access token."""

    def __init__(self, kind: str, *, not_sent: bool, timed_out: bool) -> None:
        super().__init__(kind)
        self.kind = kind
        self.not_sent = not_sent
        self.timed_out = timed_out


class Transport(Protocol):
    async def request(
        self, method: str, url: str, query: Query, json: Any, seconds: float
    ) -> RawResponse: ...

    async def aclose(self) -> None: ...


class HttpxTransport:
    """Requests through an ``httpx.AsyncClient`` (tests inject one with a MockTransport)."""

    _NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

    def __init__(self, client: httpx.AsyncClient, *, owned: bool = False) -> None:
        self._client = client
        self._owned = owned

    async def request(
        self, method: str, url: str, query: Query, json: Any, seconds: float
    ) -> RawResponse:
        try:
            response = await self._client.request(
                method, url, params=tuple(query), json=json, timeout=seconds
            )
        except httpx.TransportError as exc:
            raise TransportFailure(
                type(exc).__name__,
                not_sent=isinstance(exc, self._NOT_SENT),
                timed_out=isinstance(exc, httpx.TimeoutException),
            ) from None
        return RawResponse(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()


class ReqwestTransport:
    """Requests through one shared pyreqwest client (Rust's reqwest and hyper) with a bounded
    keep-alive pool.

    The client is made on first use, inside the running event loop. Its connections, HTTP
    parsing and timers run in Rust, outside the GIL, so a send costs the event loop far less
    than a pure-Python client's (measured in docs/performance.md).
    """

    def __init__(self, *, max_connections: int = 100) -> None:
        self._max_connections = max_connections
        self._client: Any = None
        self._timeouts: dict[float, timedelta] = {}  # one object per time-out, not per call

    def _get_client(self) -> Any:
        if self._client is None:
            from pyreqwest.client import ClientBuilder

            # No proxies from the environment, as before with aiohttp: Graph calls go direct.
            self._client = (
                ClientBuilder()
                .max_connections(self._max_connections)
                .pool_idle_timeout(timedelta(seconds=30))
                .no_proxy()
                .build()
            )
        return self._client

    async def request(
        self, method: str, url: str, query: Query, json: Any, seconds: float
    ) -> RawResponse:
        from pyreqwest import exceptions

        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = timedelta(seconds=seconds)
        builder = self._get_client().request(method, url).timeout(timeout)
        if query:
            builder = builder.query(list(query))
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            builder = builder.header("Content-Type", "application/json").body_bytes(body)
        try:
            response = await builder.build().send()
            body = bytes(await response.bytes())
        except exceptions.RequestTimeoutError as exc:
            # Any time-out may have sent the request: the total time-out of a request whose
            # answer was slow comes out as ConnectTimeoutError too (a test shows it), so the
            # kind cannot tell.
            raise TransportFailure(type(exc).__name__, not_sent=False, timed_out=True) from None
        except exceptions.ConnectError:
            raise TransportFailure("ConnectError", not_sent=True, timed_out=False) from None
        except exceptions.RequestError as exc:
            raise TransportFailure(type(exc).__name__, not_sent=False, timed_out=False) from None
        return RawResponse(response.status, response.headers, body)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from botperms.graph.client import GraphClient

GRAPH_BASE = "https://graph.test/v25.0"
APP_ID = "1234567890"
APP_SECRET = "test-app-secret-0123456789"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that answers from a queue and remembers every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response | Exception | Handler] = []
        self.sleeps: list[float] = []

    def queue(self, *items: httpx.Response | Exception | Handler) -> None:
        self.responses.extend(items)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0)
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            return item
        return item(request)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, **overrides: Any) -> GraphClient:
        options: dict[str, Any] = {
            "graph_base": GRAPH_BASE,
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "http": httpx.AsyncClient(transport=httpx.MockTransport(self)),
            "sleep": self.sleep,
            "backoff_base": 0.1,
        }
        options.update(overrides)
        return GraphClient(**options)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def graph(recorder: Recorder) -> Any:
    client = recorder.client()
    yield client
    await client.aclose()

"""App wiring (fakebook.app): route order, static files, lifespan."""

from __future__ import annotations

import httpx

from fakebook import create_app
from tests.fakebook.fbtesting import ALICE_PSID, Receiver, make_config


async def test_fixed_routes_win_over_the_graph_catch_all(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_fakebook/people")).status_code == 200
    css = await client.get("/_fakebook/static/fakebook.css")
    assert css.headers["content-type"].startswith("text/css")
    assert (await client.get("/sdk/messenger.Extensions.js")).status_code == 200
    graph = await client.get("/v25.0/unknown/thing")
    assert graph.json()["error"]["code"] == 2500


async def test_lifespan_shutdown_closes_the_webhook_client() -> None:
    receiver = Receiver()
    app = create_app(make_config(), webhook_transport=httpx.MockTransport(receiver.handle))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://x") as client,
    ):
        sent = await client.post(f"/_fakebook/chat/{ALICE_PSID}/message?wait=1", json={"text": "x"})
        assert sent.json()["webhook_status"] == 200
        assert app.state.deliverer._client is not None
    assert app.state.deliverer._client is None


def test_each_app_has_its_own_state() -> None:
    first, second = create_app(make_config()), create_app(make_config())
    assert first.state.fakebook is not second.state.fakebook
    assert first.state.dialog_key != second.state.dialog_key

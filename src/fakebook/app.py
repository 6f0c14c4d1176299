"""`create_app`: every fakebook surface on one Starlette server.

Route order matters: fixed paths first, then the Login dialog, then the Graph catch-all
`/{version}/{path}` which answers everything else in Facebook's error format.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from fakebook import (
    account_linking,
    control,
    control_shaping,
    page_inbox,
    sdk,
    settings_page,
    simulator,
)
from fakebook.account_linking import Linker
from fakebook.chat import Chat
from fakebook.config import FakebookConfig
from fakebook.dialog import login_dialog
from fakebook.graph import handle_graph
from fakebook.pages import PACKAGE_DIR
from fakebook.state import Clock, State
from fakebook.webhooks import WebhookDeliverer

GRAPH_METHODS = ["GET", "POST", "DELETE"]


def create_app(
    config: FakebookConfig,
    *,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
    callback_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """Build the app. `webhook_transport`, `clock` and `callback_transport` (the deauthorize
    and data-deletion callbacks) are the seams tests use."""
    state = State(config, clock)
    deliverer = WebhookDeliverer(state, webhook_transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await deliverer.aclose()

    routes = [
        *control.ROUTES,
        *control_shaping.ROUTES,
        *page_inbox.ROUTES,
        *sdk.ROUTES,
        *simulator.ROUTES,
        *account_linking.ROUTES,
        *settings_page.ROUTES,
        Mount("/_fakebook/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static"),
        Route("/{version}/dialog/oauth", login_dialog, methods=["GET", "POST"]),
        Route("/{version}/{path:path}", handle_graph, methods=GRAPH_METHODS),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.fakebook = state
    app.state.deliverer = deliverer
    app.state.chat = Chat(state, deliverer)
    app.state.linker = Linker(state, deliverer)
    app.state.callback_transport = callback_transport
    # Signs the Login dialog's CSRF field; new on every start, like a session secret.
    app.state.dialog_key = secrets.token_bytes(32)
    return app

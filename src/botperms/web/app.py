"""The Starlette application: routes, static files, and the lifespan that runs the services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from botperms.flows import (
    CALLBACK_PATH,
    DATA_DELETION_PATH,
    DEAUTHORIZE_PATH,
    DELETION_STATUS_PATH,
    LINK_START_PATH,
    START_PATH,
)
from botperms.metrics import exposition
from botperms.web import auth, leaving, linking, webhook
from botperms.web.access_log import AccessLog
from botperms.web.headers import SecurityHeaders
from botperms.web.pages import HERE
from botperms.web.services import Services


async def health(request: Request) -> Response:
    services: Services = request.app.state.services
    if not services.ready():
        # serve --processes 2 while its handler half (re)starts: deliveries get 503 now.
        return JSONResponse({"status": "handler process not answering"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def metrics(request: Request) -> Response:
    return Response(exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")


class _Application(Starlette):
    """Starlette, with one shortcut: Facebook's webhook POSTs skip the routing and the
    middleware (the access log, the page headers), which cost more than storing the events.
    Measured in `make bench`; see docs/performance.md."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/webhook":
            scope["app"] = self
            await webhook.endpoint(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    services: Services,
    *,
    on_start: Callable[[], Awaitable[None]],
    on_stop: Callable[[], Awaitable[None]],
) -> Starlette:
    """The Starlette app over ``services``; its lifespan runs ``on_start``/``on_stop`` (the
    composition root's, which start and stop the store and the workers)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await on_start()
        try:
            yield
        finally:
            await on_stop()

    routes = [
        Route("/webhook", webhook.verify, methods=["GET"]),
        Route("/webhook", webhook.receive, methods=["POST"]),
        Route(START_PATH, auth.start_confirm, methods=["GET"]),
        Route(START_PATH, auth.start_submit, methods=["POST"]),
        Route(CALLBACK_PATH, auth.callback, methods=["GET"]),
        Route(LINK_START_PATH, linking.link_start, methods=["GET"]),
        Route(DEAUTHORIZE_PATH, leaving.deauthorize, methods=["POST"]),
        Route(DATA_DELETION_PATH, leaving.data_deletion, methods=["POST"]),
        Route(DELETION_STATUS_PATH, leaving.deletion_status, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    settings = services.settings
    if settings.metrics and settings.metrics_port is None:
        # Otherwise /metrics is served on its own port (web.metrics_server), or not at all.
        routes.append(Route("/metrics", metrics, methods=["GET"]))
    app = _Application(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(AccessLog), Middleware(SecurityHeaders, settings=services.settings)],
    )
    app.state.services = services
    return app

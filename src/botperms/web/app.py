"""The Starlette application: routes, static files, and the lifespan that runs the services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from botperms.bot import Bot
from botperms.config import Settings
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
    return JSONResponse({"status": "ok"})


async def metrics(request: Request) -> Response:
    return Response(exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")


def create_app(
    settings: Settings,
    bot: Bot,
    *,
    http: httpx.AsyncClient | None = None,
    run_workers: bool = True,
) -> Starlette:
    """Builds the web app that runs ``bot``."""
    services = Services.build(settings, bot, http=http, run_workers=run_workers)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await services.stop()

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
        Route("/metrics", metrics, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(AccessLog), Middleware(SecurityHeaders, settings=settings)],
    )
    app.state.services = services
    return app

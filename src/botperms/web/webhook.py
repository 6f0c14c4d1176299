"""``/webhook``: Facebook's verification handshake and signed event deliveries.

A POST is acknowledged only after its events are durably in the inbox, and handling happens
after the acknowledgement (the inbox worker is woken, not awaited).
"""

from __future__ import annotations

import secrets
from typing import Any

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from botperms.messenger import InvalidPayload, verify_signature
from botperms.messenger.intake import read_delivery
from botperms.metrics import WEBHOOK_EVENTS, WEBHOOK_REQUESTS
from botperms.store import NewInboxItem, StoreError
from botperms.web.services import Services

log = structlog.get_logger(__name__)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def verify(request: Request) -> Response:
    settings = _services(request).settings
    params = request.query_params
    token = params.get("hub.verify_token", "")
    expected = settings.verify_token.get_secret_value()
    if params.get("hub.mode") == "subscribe" and secrets.compare_digest(
        token.encode(), expected.encode()
    ):
        log.info("webhook.verified")
        return PlainTextResponse(params.get("hub.challenge", ""))
    log.warning("webhook.verify_refused", mode=params.get("hub.mode"))
    return PlainTextResponse("verification failed", status_code=403)


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The raw body, or None once it passes ``limit`` bytes (read no further)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def receive(request: Request) -> Response:
    services = _services(request)
    settings = services.settings
    try:
        body = await _read_capped(request, settings.webhook_max_body_bytes)
    except ClientDisconnect:
        return PlainTextResponse("client went away", status_code=400)
    if body is None:
        WEBHOOK_REQUESTS.labels("too_large").inc()
        return PlainTextResponse("body too large", status_code=413)
    # The signature is over the exact bytes sent: check it before parsing anything.
    header = request.headers.get("x-hub-signature-256")
    if not verify_signature(settings.app_secret.get_secret_value(), body, header):
        log.warning("webhook.bad_signature", present=header is not None, size=len(body))
        WEBHOOK_REQUESTS.labels("bad_signature").inc()
        return PlainTextResponse("invalid signature", status_code=403)
    try:
        events = read_delivery(body)
    except InvalidPayload as exc:
        log.warning("webhook.bad_payload", error=str(exc))
        WEBHOOK_REQUESTS.labels("bad_payload").inc()
        return PlainTextResponse(f"bad payload: {exc}", status_code=400)
    items = []
    for event in events:
        WEBHOOK_EVENTS.labels(event.kind).inc()
        if event.kind == "unknown":
            # Kept and acknowledged like any event: Facebook adds kinds without notice.
            log.info("webhook.unknown_event", page_id=event.page_id, keys=_keys(event.payload))
        # An event of a page botperms has no token for is stored too; the dispatcher, which
        # knows the pages (settings and `botperms pages`), logs it and leaves it unanswered.
        items.append(
            NewInboxItem(
                event_key=event.key,
                page_id=event.page_id,
                psid=event.psid,
                kind=event.kind,
                payload=event.payload,
                event_time=event.event_time,
                standby=event.standby,
            )
        )
    try:
        await services.intake(items)
    except StoreError as exc:
        # Not acknowledged: Facebook will redeliver, and nothing was half-stored.
        log.error("webhook.store_failed", error=str(exc))
        WEBHOOK_REQUESTS.labels("store_failed").inc()
        return PlainTextResponse("temporarily unavailable", status_code=503)
    services.wake_inbox()
    WEBHOOK_REQUESTS.labels("accepted").inc()
    log.debug("webhook.accepted", events=len(items))
    return PlainTextResponse("EVENT_RECEIVED")


async def endpoint(scope: Scope, receive_: Receive, send: Send) -> None:
    """``receive`` as a bare ASGI endpoint (the app's shortcut for webhook POSTs)."""
    try:
        response = await receive(Request(scope, receive_))
    except Exception:
        # A bug of ours, not a bad delivery: Facebook redelivers, and the log says why.
        log.exception("webhook.failed")
        response = PlainTextResponse("internal error", status_code=500)
    response.headers["X-Content-Type-Options"] = "nosniff"
    await response(scope, receive_, send)


def _keys(payload: dict[str, Any]) -> list[str]:
    return sorted(str(key) for key in payload)[:20]

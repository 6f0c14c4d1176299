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
from botperms.metrics import WEBHOOK_EVENTS, WEBHOOK_REQUESTS, inc
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
    """The routed POST (the app's shortcut, `endpoint`, normally answers first)."""
    services = _services(request)
    try:
        body = await _read_capped(request, services.settings.webhook_max_body_bytes)
    except ClientDisconnect:
        return PlainTextResponse("client went away", status_code=400)
    status, text = await accept(services, body, request.headers.get("x-hub-signature-256"))
    return PlainTextResponse(text, status_code=status)


async def accept(services: Services, body: bytes | None, header: str | None) -> tuple[int, str]:
    """A delivery's answer (status, text): 200 only once its events are in the inbox.
    ``body``: None when it was larger than the limit."""
    settings = services.settings
    if body is None:
        inc(WEBHOOK_REQUESTS, "too_large")
        return 413, "body too large"
    # The signature is over the exact bytes sent: check it before parsing anything.
    if not verify_signature(settings.app_secret.get_secret_value(), body, header):
        log.warning("webhook.bad_signature", present=header is not None, size=len(body))
        inc(WEBHOOK_REQUESTS, "bad_signature")
        return 403, "invalid signature"
    try:
        events = read_delivery(body)
    except InvalidPayload as exc:
        log.warning("webhook.bad_payload", error=str(exc))
        inc(WEBHOOK_REQUESTS, "bad_payload")
        return 400, f"bad payload: {exc}"
    items = []
    for event in events:
        inc(WEBHOOK_EVENTS, event.kind)
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
        inc(WEBHOOK_REQUESTS, "store_failed")
        return 503, "temporarily unavailable"
    services.wake_inbox()
    inc(WEBHOOK_REQUESTS, "accepted")
    return 200, "EVENT_RECEIVED"


class _Disconnected(Exception):
    pass


async def _raw_body(scope: Scope, receive_: Receive, limit: int) -> bytes | None:
    """The body straight from the ASGI messages; None past ``limit`` (read no further)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive_()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


async def endpoint(scope: Scope, receive_: Receive, send: Send) -> None:
    """Webhook POSTs as a bare ASGI endpoint (the app's shortcut): Starlette's request and
    response objects cost more per delivery than reading the body and answering directly."""
    services: Services = scope["app"].state.services
    try:
        body = await _raw_body(scope, receive_, services.settings.webhook_max_body_bytes)
        status, text = await accept(services, body, _header(scope, b"x-hub-signature-256"))
    except _Disconnected:
        status, text = 400, "client went away"
    except Exception:
        # A bug of ours, not a bad delivery: Facebook redelivers, and the log says why.
        log.exception("webhook.failed")
        status, text = 500, "internal error"
    content = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(content)).encode()),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


def _keys(payload: dict[str, Any]) -> list[str]:
    return sorted(str(key) for key in payload)[:20]

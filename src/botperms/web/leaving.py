"""Facebook's deauthorize and data-deletion callbacks, and the deletion status page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from botperms.messenger import InvalidSignedRequest
from botperms.store import StoreError
from botperms.web.auth import services_of
from botperms.web.pages import render
from botperms.web.services import Services

log = structlog.get_logger(__name__)

# A form holding one signed_request is well under this; anything bigger is not Facebook.
MAX_BODY_BYTES = 16 * 1024


async def _signed_request(request: Request) -> str | None:
    """The form's ``signed_request``; None for a garbage, oversized or non-form body."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        return None
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return None
        form = await request.form()
    except (ClientDisconnect, ValueError, KeyError, AssertionError):
        return None
    value = form.get("signed_request")
    return value if isinstance(value, str) else None


async def _callback(
    request: Request, name: str, act: Callable[[Services, str | None], Awaitable[dict[str, Any]]]
) -> Response:
    """Both callbacks: 400 for a bad signed_request, 503 when storage fails (nothing changed
    either way, so Facebook or the person can send it again)."""
    services = services_of(request)
    raw = await _signed_request(request)
    try:
        return JSONResponse(await act(services, raw))
    except InvalidSignedRequest as exc:
        log.warning("leaving.refused", callback=name, reason=str(exc))
        return JSONResponse({"error": f"invalid signed_request: {exc}"}, status_code=400)
    except StoreError as exc:
        log.error("leaving.storage_error", callback=name, error=str(exc))
        return JSONResponse({"error": "storage unavailable, nothing changed"}, status_code=503)


async def _deauthorize(services: Services, raw: str | None) -> dict[str, Any]:
    revoked = await services.leaving.deauthorize(raw)
    return {"success": True, "revoked": len(revoked)}


async def _delete_data(services: Services, raw: str | None) -> dict[str, Any]:
    receipt = await services.leaving.delete_data(raw)
    return {"url": receipt.url, "confirmation_code": receipt.confirmation_code}


async def deauthorize(request: Request) -> Response:
    return await _callback(request, "deauthorize", _deauthorize)


async def data_deletion(request: Request) -> Response:
    return await _callback(request, "data_deletion", _delete_data)


async def deletion_status(request: Request) -> Response:
    services = services_of(request)
    code = request.query_params.get("id")
    try:
        record = await services.leaving.deletion_status(code)
    except StoreError as exc:
        log.error("leaving.status_unavailable", error=str(exc))
        return render(request, "deletion.html", {"state": "unavailable"}, status_code=503)
    if record is None:
        return render(request, "deletion.html", {"state": "unknown", "code": code}, 404)
    context = {
        "state": record.status,
        "code": record.code,
        "received": record.created_at.strftime("%d %B %Y, %H:%M UTC"),
        "completed": (
            record.completed_at.strftime("%d %B %Y, %H:%M UTC") if record.completed_at else None
        ),
        "rows": sum(record.erased.values()),
    }
    response = render(request, "deletion.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response

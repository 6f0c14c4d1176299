"""The Messenger Extensions SDK shim and the thread context it hands to webviews (contract §9).

`getContext()` answers with a `signed_request` made exactly like Facebook's: base64url(JSON
payload) signed with HMAC-SHA256 under the app secret, both parts unpadded, so the bot checks
it with the same code it uses for Facebook's deauthorize and data-deletion callbacks (§7).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from fakebook.pages import PACKAGE_DIR
from fakebook.state import State

SDK_FILE = PACKAGE_DIR / "static" / "messenger.Extensions.js"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def signed_request(app_secret: str, payload: dict[str, Any]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(app_secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{_b64(signature)}.{body}"


def thread_context(state: State, psid: str) -> dict[str, Any]:
    config = state.config
    payload = {
        "algorithm": "HMAC-SHA256",
        "issued_at": int(state.now()),
        "page_id": int(config.page_id) if config.page_id.isdigit() else config.page_id,
        "psid": psid,
        "thread_type": "USER_TO_PAGE",
        "tid": psid,
    }
    return {
        "thread_type": "USER_TO_PAGE",
        "tid": psid,
        "psid": psid,
        "signed_request": signed_request(config.app_secret, payload),
    }


async def sdk_script(request: Request) -> Response:
    return FileResponse(
        SDK_FILE, media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )


async def context(request: Request) -> Response:
    state: State = request.app.state.fakebook
    psid = request.path_params["psid"]
    if psid not in state.by_psid:
        return JSONResponse({"code": 2071012, "error": f"no fake person {psid}"}, status_code=404)
    if request.query_params.get("app_id") != state.config.app_id:
        # The real SDK refuses a context for an app other than the one behind the button.
        return JSONResponse({"code": 2071012, "error": "app_id does not match"}, status_code=400)
    return JSONResponse(thread_context(state, psid))


ROUTES = [
    Route("/sdk/messenger.Extensions.js", sdk_script),
    Route("/_fakebook/chat/{psid}/context", context),
]

"""Settings & Privacy → Apps and Websites, for one fake person (contract §7).

The page lists the app as active while the person has grants, as removed after they removed it.
"Remove this app" ends fakebook's grants and tokens for the person's ASID (tokens then fail
with 190/458) and POSTs a form-encoded `signed_request` to `deauthorize_callback_url`.
"Delete my data" POSTs one to `data_deletion_callback_url` and shows the `url` and
`confirmation_code` the app answers. The signed_request is made like Facebook's: unpadded
base64url of HMAC-SHA256(app_secret, payload) "." unpadded base64url of the JSON payload
`{"algorithm": "HMAC-SHA256", "issued_at": …, "user_id": ASID}`. A callback that is not
configured, cannot be reached, times out, answers other than 2xx (200 with JSON for deletion)
or answers bad JSON is reported on the page in words; the removal itself still happens.

Routes:
GET  /settings?psid=…              the page (also ?person=, else the simulator's person cookie)
POST /settings/apps/remove         form: psid, fb_dtsg (from the page)
POST /settings/apps/delete-data    form: psid, fb_dtsg
POST /_fakebook/apps/remove        {"psid"} (or {"asid"}): the same, answered in JSON with the
POST /_fakebook/apps/delete-data   callback's outcome: status, body, error, signed_request, …
GET  /_fakebook/apps/callbacks     every callback call fakebook made, oldest first
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Literal

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakebook.dialog import PERSON_COOKIE
from fakebook.pages import error_page, render
from fakebook.people import Person
from fakebook.sdk import signed_request
from fakebook.state import State
from fakebook.webhooks import USER_AGENT

CallbackKind = Literal["deauthorize", "data_deletion"]
_SETTING: dict[CallbackKind, str] = {
    "deauthorize": "deauthorize_callback_url",
    "data_deletion": "data_deletion_callback_url",
}
_BODY_EXCERPT = 2000


def _state(request: Request) -> State:
    state: State = request.app.state.fakebook
    return state


def _transport(request: Request) -> httpx.AsyncBaseTransport | None:
    transport: httpx.AsyncBaseTransport | None = request.app.state.callback_transport
    return transport


def signed_request_for(state: State, asid: str) -> str:
    payload = {"algorithm": "HMAC-SHA256", "issued_at": int(state.now()), "user_id": asid}
    return signed_request(state.config.app_secret, payload)


def _is_web_url(value: str | None) -> bool:
    return value is not None and value.startswith(("http://", "https://"))


def _check_deletion_answer(response: httpx.Response, result: dict[str, Any]) -> None:
    """Data deletion must answer 200 with JSON {url, confirmation_code}; fill `result`."""
    try:
        data = response.json()
    except ValueError:
        result["error"] = (
            "The app answered HTTP 200, but its body is not JSON; Facebook expects"
            ' {"url": …, "confirmation_code": …}.'
        )
        return
    url = data.get("url") if isinstance(data, dict) else None
    code = data.get("confirmation_code") if isinstance(data, dict) else None
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    if not isinstance(url, str) or not url or not isinstance(code, str) or not code:
        result["error"] = (
            'The app answered JSON without the "url" and "confirmation_code" strings Facebook'
            " expects."
        )
        return
    result.update(ok=True, url=url, confirmation_code=code)


async def call_callback(
    state: State,
    transport: httpx.AsyncBaseTransport | None,
    kind: CallbackKind,
    person: Person,
) -> dict[str, Any]:
    """POST the signed_request to the app's callback; a JSON-ready account of what happened."""
    config = state.config
    url = (
        config.deauthorize_callback_url
        if kind == "deauthorize"
        else (config.data_deletion_callback_url)
    )
    result: dict[str, Any] = {
        "kind": kind,
        "asid": person.asid,
        "callback_url": url,
        "configured": url is not None,
        "ok": False,
        "status": None,
        "body": None,
        "error": None,
        "signed_request": None,
        "at": int(state.now() * 1000),
    }
    state.app_callbacks.append(result)
    if url is None:
        result["error"] = f"No {_SETTING[kind]} is configured, so {config.app_name} was not told."
        return result
    signed = signed_request_for(state, person.asid)
    result["signed_request"] = signed
    try:
        # trust_env=False: the app is normally on loopback, as for webhooks.
        async with httpx.AsyncClient(
            transport=transport, timeout=config.webhook_timeout, trust_env=False
        ) as client:
            response = await client.post(
                url, data={"signed_request": signed}, headers={"User-Agent": USER_AGENT}
            )
    except httpx.TimeoutException:
        result["error"] = f"{url} did not answer within {config.webhook_timeout:g} seconds."
        return result
    except httpx.ConnectError as exc:
        result["error"] = f"Could not connect to {url}: {str(exc) or 'connection refused'}."
        return result
    except httpx.HTTPError as exc:
        result["error"] = f"The call to {url} failed: {type(exc).__name__}: {exc}."
        return result
    result["status"] = response.status_code
    result["body"] = response.text[:_BODY_EXCERPT]
    if kind == "deauthorize":
        if 200 <= response.status_code < 300:
            result["ok"] = True
        else:
            result["error"] = f"{url} answered HTTP {response.status_code} instead of 200."
    elif response.status_code != 200:
        result["error"] = f"{url} answered HTTP {response.status_code} instead of 200."
    else:
        _check_deletion_answer(response, result)
    return result


async def remove_app(
    state: State, transport: httpx.AsyncBaseTransport | None, person: Person
) -> dict[str, Any]:
    was_installed = person.asid in state.grants
    state.remove_app(person.asid)
    callback = await call_callback(state, transport, "deauthorize", person)
    return {
        "psid": person.psid,
        "asid": person.asid,
        "was_installed": was_installed,
        "callback": callback,
    }


async def delete_data(
    state: State, transport: httpx.AsyncBaseTransport | None, person: Person
) -> dict[str, Any]:
    callback = await call_callback(state, transport, "data_deletion", person)
    return {"psid": person.psid, "asid": person.asid, "callback": callback}


# --- the page -------------------------------------------------------------------------------


def _csrf(request: Request, psid: str) -> str:
    key: bytes = request.app.state.dialog_key
    return hmac.new(key, f"settings:{psid}".encode(), hashlib.sha256).hexdigest()


def _notice(state: State, action: str, outcome: dict[str, Any]) -> dict[str, Any]:
    """The words the page shows after an action."""
    app = state.config.app_name
    callback = outcome["callback"]
    notice: dict[str, Any] = {"tone": "ok" if callback["ok"] else "problem", "link": None}
    if action == "remove":
        notice["title"] = f"{app} was removed"
        if callback["ok"]:
            notice["text"] = (
                f"It can no longer use your information, and it was told through its"
                f" deauthorize callback (HTTP {callback['status']})."
            )
        elif not callback["configured"]:
            notice["tone"] = "info"
            notice["text"] = (
                f"It can no longer use your information. {app} has no deauthorize callback URL"
                " (deauthorize_callback_url), so it was not told."
            )
        else:
            notice["text"] = f"It can no longer use your information, but telling {app} failed."
            notice["detail"] = callback["error"]
        return notice
    if callback["ok"]:
        notice["title"] = "Deletion requested"
        notice["text"] = f"{app} received your request. Your confirmation code:"
        notice["code"] = callback["confirmation_code"]
        # Only a web address becomes a link; anything else (javascript:…) stays text.
        if _is_web_url(callback["url"]):
            notice["link"] = callback["url"]
        else:
            notice["detail"] = f"The app's status address is not a web URL: {callback['url']}"
    elif not callback["configured"]:
        notice["tone"] = "info"
        notice["title"] = "No deletion callback"
        notice["text"] = (
            f"{app} has no data deletion callback URL (data_deletion_callback_url). Facebook"
            " would ask you to contact the app directly."
        )
    else:
        notice["title"] = "Deletion request failed"
        notice["text"] = f"Your request could not be delivered to {app}."
        notice["detail"] = callback["error"]
    return notice


def _page_person(request: Request, psid: str | None) -> Person:
    state = _state(request)
    for candidate in (
        psid,
        request.query_params.get("person"),
        request.cookies.get(PERSON_COOKIE),
    ):
        if candidate and candidate in state.by_psid:
            return state.by_psid[candidate]
    return state.people[0]


def _render(request: Request, person: Person, notice: dict[str, Any] | None = None) -> Response:
    state = _state(request)
    config = state.config
    grants = state.grants.get(person.asid)
    context = {
        "person": person,
        "app_name": config.app_name,
        "page_name": config.page_name,
        "installed": grants is not None,
        "removed": grants is None and person.asid in state.removed_apps,
        "granted": list(grants.granted) if grants is not None else [],
        "deauthorize_url": config.deauthorize_callback_url,
        "deletion_url": config.data_deletion_callback_url,
        "csrf": _csrf(request, person.psid),
        "notice": notice,
    }
    response = render(request, "settings.html", context)
    response.set_cookie(PERSON_COOKIE, person.psid, samesite="lax")
    return response


async def settings_page(request: Request) -> Response:
    return _render(request, _page_person(request, request.query_params.get("psid")))


async def _form_person(request: Request) -> Person | Response:
    form = await request.form()
    psid = str(form.get("psid", ""))
    person = _state(request).by_psid.get(psid)
    if person is None:
        return error_page(request, "Unknown person", f"fakebook has no person with PSID {psid}.")
    if not hmac.compare_digest(str(form.get("fb_dtsg", "")), _csrf(request, psid)):
        return error_page(
            request, "Security check failed", "Reload the settings page and retry.", 403
        )
    return person


async def remove_from_page(request: Request) -> Response:
    person = await _form_person(request)
    if isinstance(person, Response):
        return person
    state = _state(request)
    outcome = await remove_app(state, _transport(request), person)
    return _render(request, person, _notice(state, "remove", outcome))


async def delete_from_page(request: Request) -> Response:
    person = await _form_person(request)
    if isinstance(person, Response):
        return person
    state = _state(request)
    outcome = await delete_data(state, _transport(request), person)
    return _render(request, person, _notice(state, "delete", outcome))


# --- the control API ------------------------------------------------------------------------


async def _json_person(request: Request) -> Person | JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse({"error": 'expected {"psid": …}'}, status_code=400)
    ident = str(body.get("psid") or body.get("asid") or "")
    person = _state(request).person(ident)
    if person is None:
        return JSONResponse({"error": f"no fake person {ident!r}"}, status_code=404)
    return person


async def control_remove(request: Request) -> Response:
    person = await _json_person(request)
    if isinstance(person, JSONResponse):
        return person
    return JSONResponse(await remove_app(_state(request), _transport(request), person))


async def control_delete(request: Request) -> Response:
    person = await _json_person(request)
    if isinstance(person, JSONResponse):
        return person
    return JSONResponse(await delete_data(_state(request), _transport(request), person))


async def control_callbacks(request: Request) -> Response:
    return JSONResponse(_state(request).app_callbacks)


ROUTES = [
    Route("/settings", settings_page),
    Route("/settings/apps/remove", remove_from_page, methods=["POST"]),
    Route("/settings/apps/delete-data", delete_from_page, methods=["POST"]),
    Route("/_fakebook/apps/remove", control_remove, methods=["POST"]),
    Route("/_fakebook/apps/delete-data", control_delete, methods=["POST"]),
    Route("/_fakebook/apps/callbacks", control_callbacks),
]

"""The Facebook Login dialog, `GET|POST /{version}/dialog/oauth` (contract §6.1).

GET validates the request and shows "Log in to <app>": a fake person to act as and the
requested permissions. Invalid requests (unknown client_id, a redirect_uri not in
valid_redirect_uris, unsupported response_type, invalid scopes) get an error page and no
redirect, as on Facebook; we answer those with HTTP 400 so scripts notice.

The form POSTs back to the same URL (query string unchanged). Its fields, for tests that drive it
with plain HTTP:
* `fb_dtsg`: the CSRF field from the page (an HMAC of the query string; scrape it from the GET);
* `person`: the chosen person's PSID or ASID (both accepted);
* `scopes` (or `scopes[]`), repeated: the permissions left checked;
* `action`: `continue` or `cancel`.

Consent rules: public_profile is always granted. A scope granted before is not asked again. A
scope declined before is asked again only with auth_type=rerequest; otherwise it stays declined.
Continue → 302 `{redirect_uri}?code=…&state=…#_=_`; Cancel → 302 with error=access_denied….
The chosen person is remembered in the `fakebook_person` cookie, shared with the simulator.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fakebook.errors import GraphError
from fakebook.pages import error_page, render
from fakebook.state import State
from fakebook.versions import resolve_version

PERSON_COOKIE = "fakebook_person"
KNOWN_SCOPES = frozenset(
    {
        "public_profile", "email", "openid", "user_likes", "user_friends", "user_birthday",
        "user_photos", "user_posts", "user_gender", "user_link", "user_location",
        "user_hometown", "user_age_range", "user_videos", "user_events", "pages_show_list",
        "pages_messaging", "pages_manage_metadata", "pages_read_engagement",
    }
)  # fmt: skip


class DialogError(Exception):
    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


@dataclass(frozen=True)
class DialogRequest:
    redirect_uri: str
    state: str | None
    scopes: tuple[str, ...]
    auth_type: str | None
    display: str | None
    code_challenge: str | None
    code_challenge_method: str | None


def _parse(request: Request, fb: State) -> DialogRequest:
    config = fb.config
    query = request.query_params
    try:
        resolve_version(
            request.path_params["version"], config.min_graph_version, config.expired_version_policy
        )
    except GraphError as exc:
        raise DialogError("Unsupported API version", exc.message) from None
    if query.get("client_id") != config.app_id:
        raise DialogError(
            "Invalid App ID", "The provided app ID does not look like a valid app ID."
        )
    redirect_uri = query.get("redirect_uri", "")
    split = urlsplit(redirect_uri)
    bare = urlunsplit((split.scheme, split.netloc, split.path, "", ""))
    if bare not in config.valid_redirect_uris:
        raise DialogError(
            "URL blocked",
            "This redirect failed because the redirect URI is not whitelisted in the app's"
            " Client OAuth Settings. Make sure Client and Web OAuth Login are on and add all your"
            " app domains as Valid OAuth Redirect URIs.",
        )
    response_type = query.get("response_type", "code")
    if response_type != "code":
        raise DialogError(
            "Unsupported response_type",
            f"fakebook emulates response_type=code only, not {response_type!r}.",
        )
    requested = [s.strip() for s in query.get("scope", "").replace(" ", ",").split(",")]
    scopes = ["public_profile", *(s for s in requested if s and s != "public_profile")]
    invalid = sorted(set(scopes) - KNOWN_SCOPES)
    if invalid:
        raise DialogError("Invalid Scopes", f"Invalid Scopes: {', '.join(invalid)}.")
    challenge = query.get("code_challenge") or None
    method = query.get("code_challenge_method") or None
    if method is not None and method not in ("S256", "plain"):
        raise DialogError("Invalid PKCE request", "code_challenge_method must be S256 or plain.")
    if method is not None and challenge is None:
        raise DialogError("Invalid PKCE request", "code_challenge_method needs code_challenge.")
    return DialogRequest(
        redirect_uri=redirect_uri,
        state=query.get("state"),
        scopes=tuple(dict.fromkeys(scopes)),
        auth_type=query.get("auth_type") or None,
        display=query.get("display") or None,
        code_challenge=challenge,
        code_challenge_method=(method or "plain") if challenge else None,
    )


def _csrf(request: Request) -> str:
    key: bytes = request.app.state.dialog_key
    return hmac.new(key, request.url.query.encode(), hashlib.sha256).hexdigest()


def _redirect(uri: str, params: dict[str, str]) -> RedirectResponse:
    split = urlsplit(uri)
    extra = urlencode(params)
    query = f"{split.query}&{extra}" if split.query else extra
    # "#_=_" is what Facebook appends to the redirect, so clients must tolerate it.
    target = urlunsplit((split.scheme, split.netloc, split.path, query, "_=_"))
    return RedirectResponse(target, status_code=302)


def _show(request: Request, fb: State, dialog: DialogRequest) -> Response:
    chosen = request.cookies.get(PERSON_COOKIE)
    people = []
    for person in fb.people:
        grants = fb.grants.get(person.asid)
        people.append(
            {
                "person": person,
                "granted": list(grants.granted) if grants else [],
                "declined": list(grants.declined) if grants else [],
            }
        )
    selected = chosen if chosen in fb.by_psid else fb.people[0].psid
    context = {
        "app_name": fb.config.app_name,
        "people": people,
        "selected": selected,
        "scopes": dialog.scopes,
        "rerequest": dialog.auth_type == "rerequest",
        "csrf": _csrf(request),
        "display": dialog.display or "page",
    }
    return render(request, "dialog.html", context)


async def login_dialog(request: Request) -> Response:
    fb: State = request.app.state.fakebook
    try:
        dialog = _parse(request, fb)
    except DialogError as exc:
        return error_page(request, exc.title, exc.message)
    if request.method == "GET":
        return _show(request, fb, dialog)
    form = await request.form()
    if not hmac.compare_digest(str(form.get("fb_dtsg", "")), _csrf(request)):
        return error_page(request, "Security check failed", "Reload the login page and retry.", 403)
    person = fb.person(str(form.get("person", "")))
    if person is None:
        return error_page(request, "Choose a person", "Pick one of the fake people to log in as.")
    if form.get("action") == "cancel":
        denied = {
            "error": "access_denied",
            "error_code": "200",
            "error_description": "Permissions error",
            "error_reason": "user_denied",
        }
        response = _redirect(dialog.redirect_uri, _with_state(denied, dialog.state))
    else:
        checked = {str(v) for v in [*form.getlist("scopes"), *form.getlist("scopes[]")]}
        code = _consent(fb, dialog, person.asid, checked)
        response = _redirect(dialog.redirect_uri, _with_state({"code": code}, dialog.state))
    response.set_cookie(PERSON_COOKIE, person.psid, samesite="lax")
    return response


def _consent(fb: State, dialog: DialogRequest, asid: str, checked: set[str]) -> str:
    """Record what the person granted or declined (rules in the module docstring); a code."""
    grants = fb.grants_of(asid)
    for scope in dialog.scopes:
        if scope in grants.granted:
            continue
        if scope in grants.declined and dialog.auth_type != "rerequest":
            continue
        if scope in checked:
            grants.grant(scope)
        else:
            grants.decline(scope)
    code = fb.tokens.issue_code(
        asid,
        redirect_uri=dialog.redirect_uri,
        now=fb.now(),
        ttl=fb.config.code_ttl_seconds,
        code_challenge=dialog.code_challenge,
        code_challenge_method=dialog.code_challenge_method,
    )
    return code.code


def _with_state(params: dict[str, str], state: str | None) -> dict[str, str]:
    return {**params, "state": state} if state is not None else params

"""The Messenger chat simulator pages: `/`, `/chat`, `/m.me/{page}`, avatars and closeWindow.

The page itself (templates/chat.html + static/chat.js) polls the control API once a second and
sends through it. Its phone view opens web_url buttons in an in-page overlay (an iframe sized
like a phone) the way Messenger's in-app browser does; its desktop view opens a new tab. A web
page cannot change the browser's User-Agent, so the phone view cannot present a Messenger UA
to the bot; the page says so, and end-to-end tests use browser contexts with real mobile UAs.
"""

from __future__ import annotations

import hashlib
from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fakebook.dialog import PERSON_COOKIE
from fakebook.pages import error_page, render
from fakebook.state import State

_COLOURS = ("#1877f2", "#e4405f", "#42b72a", "#f7b928", "#8a3ab9", "#ff6f00", "#00a3a3")


def _state(request: Request) -> State:
    state: State = request.app.state.fakebook
    return state


async def index(request: Request) -> Response:
    state = _state(request)
    config = state.config
    context = {
        "page_name": config.page_name,
        "people": state.people,
        "page_ref": config.page_username or config.page_id,
        "base": (config.public_url or str(request.base_url)).rstrip("/"),
        "version": config.min_graph_version,
        "webhook_url": config.webhook_url,
    }
    return render(request, "index.html", context)


async def chat(request: Request) -> Response:
    state = _state(request)
    psid = request.query_params.get("person") or request.cookies.get(PERSON_COOKIE)
    if psid is None or psid not in state.by_psid:
        psid = state.people[0].psid
    ref = request.query_params.get("ref")
    # m.me with a ref into an existing thread is a referral event; a new thread would go
    # through Get Started, which belongs to messenger_profile (not emulated yet).
    # Several pages: ?page= (or m.me/{page}) picks the page this person chats with.
    page = state.config.page(request.query_params.get("page") or None) or state.config.pages[0]
    has_thread = bool(state.conversation(psid, page.id).entries)
    context = {
        "person": state.by_psid[psid],
        "people": state.people,
        "pages": state.config.pages,
        "page_id": page.id,
        "page_name": page.name,
        "view": request.query_params.get("view"),
        "ref": ref if ref and has_thread else None,
    }
    response = render(request, "chat.html", context)
    response.set_cookie(PERSON_COOKIE, psid, samesite="lax")
    return response


async def m_me(request: Request) -> Response:
    config = _state(request).config
    wanted = request.path_params["page"]
    page = config.page(wanted)
    if page is None:
        return error_page(request, "Page not found", f"fakebook has no page {wanted!r}.", 404)
    query = request.query_params.multi_items()
    if page.id != config.page_id:
        query = [("page", page.id), *query]
    target = "/chat" + ("?" + urlencode(query) if query else "")
    return RedirectResponse(target, status_code=302)


async def avatar(request: Request) -> Response:
    """A tiny SVG with initials, standing in for profile_pic URLs."""
    state = _state(request)
    ident = request.path_params["ident"]
    # PSIDs for profile_pic, ASIDs for the User node's picture.
    person = state.person(ident)
    if person is not None:
        initials = person.first_name[:1] + person.last_name[:1]
    elif (page := state.config.page(ident)) is not None:
        initials = page.name[:1]
    else:
        return Response("not found", status_code=404)
    colour = _COLOURS[hashlib.sha256(ident.encode()).digest()[0] % len(_COLOURS)]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
        f'<circle cx="32" cy="32" r="32" fill="{colour}"/>'
        '<text x="32" y="41" font-family="sans-serif" font-size="26" fill="#fff"'
        f' text-anchor="middle">{escape(initials)}</text></svg>'
    )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "max-age=3600"})


async def close_window(request: Request) -> Response:
    """messenger.com/closeWindow/: closes the simulator's webview, or says where to go."""
    context = {
        "image_url": request.query_params.get("image_url"),
        "display_text": request.query_params.get("display_text"),
    }
    return render(request, "close_window.html", context)


ROUTES = [
    Route("/", index),
    Route("/chat", chat),
    Route("/m.me/{page}", m_me),
    Route("/avatar/{ident}.svg", avatar),
    Route("/closeWindow/", close_window),
]

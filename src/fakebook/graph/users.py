"""Nodes and edges about people and the page: `/me`, `/{id}`, `/{id}/permissions`, `/{id}/likes`.

`me` means whoever the token belongs to: the page for the page token, the person (by ASID) for
a user token. With the app token a person is addressed by ASID. A PSID is readable only with
the page token (the User Profile API, contract §5).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response

from fakebook.errors import GraphError, invalid_param
from fakebook.graph.base import Endpoint, GraphRequest
from fakebook.graph.nodes import page_node, picture_data, profile_node, user_node
from fakebook.people import LikedPage, Person

LIKE_FIELDS = ("name", "id", "created_time")
LIKES_DEFAULT_LIMIT = 25
LIKES_MAX_LIMIT = 100


def unsupported(req: GraphRequest, node: str) -> GraphError:
    return invalid_param(
        f"Unsupported {req.method.lower()} request. Object with ID '{node}' does not exist,"
        " cannot be loaded due to missing permissions, or does not support this operation.",
        subcode=33,
    )


def subject(req: GraphRequest, node: str, edge: str) -> Person:
    """The person an edge is asked about, given who calls (see the module docstring)."""
    caller = req.require_token()
    if caller.kind == "user":
        assert caller.person is not None
        if node in ("me", caller.person.asid):
            return caller.person
        raise unsupported(req, node)
    if caller.kind == "app":
        if node == "me":
            req.require_user()
        person = req.state.by_asid.get(node)
        if person is None or person.asid not in req.state.grants:
            raise unsupported(req, node)
        return person
    if node == "me" or req.config.page(node) is not None:
        raise invalid_param(f"Tried accessing nonexisting field ({edge}) on node type (Page)")
    raise unsupported(req, node)


async def node(req: GraphRequest) -> dict[str, Any]:
    node_id = req.match.get("node", "me")
    caller = req.require_token()
    config = req.config
    named = config.page(node_id) if node_id.isdigit() else None
    if named is not None:
        return page_node(req, named)
    if node_id == "me" and caller.kind == "page":
        return page_node(req)
    if caller.kind == "page" and node_id in req.state.by_psid:
        return profile_node(req, req.state.by_psid[node_id])
    return user_node(req, subject(req, node_id, "id"))


async def picture(req: GraphRequest) -> dict[str, Any] | Response:
    """`/{id}/picture`: a 302 to the image, or `{"data": {...}}` with `redirect=0`."""
    node_id = req.match["node"]
    caller = req.require_token()
    named = req.config.page(node_id) if node_id.isdigit() else None
    if named is not None:
        ident = named.id
    elif node_id == "me" and caller.kind == "page":
        ident = req.page.id
    elif caller.kind == "page" and node_id in req.state.by_psid:
        ident = node_id
    else:
        ident = subject(req, node_id, "picture").asid
    modifiers = {
        name: value for name in ("type", "width", "height") if (value := req.text(name)) is not None
    }
    data = picture_data(req, ident, modifiers)
    if req.text("redirect") in ("0", "false"):
        return {"data": data}
    return RedirectResponse(data["url"], status_code=302)


async def permissions(req: GraphRequest) -> dict[str, Any]:
    person = subject(req, req.match["node"], "permissions")
    grants = req.state.grants_of(person.asid)
    data = [{"permission": scope, "status": "granted"} for scope in grants.granted]
    data += [{"permission": scope, "status": "declined"} for scope in grants.declined]
    return {"data": data}


async def revoke(req: GraphRequest) -> dict[str, Any]:
    """Without a permission: remove the app (every token dies). With one: revoke just it."""
    person = subject(req, req.match["node"], "permissions")
    permission = req.match.get("permission")
    if permission is None:
        req.state.remove_app(person.asid)
    elif permission == "public_profile":
        # fakebook's choice: public_profile cannot go alone; removing the app is the way.
        raise invalid_param(
            "public_profile cannot be revoked on its own; DELETE /me/permissions removes the app."
        )
    else:
        req.state.grants_of(person.asid).decline(permission)
    return {"success": True}


def _cursor(page: LikedPage) -> str:
    return base64.urlsafe_b64encode(page.id.encode()).decode().rstrip("=")


def _limit(req: GraphRequest) -> int:
    raw = req.text("limit")
    if raw is None:
        return LIKES_DEFAULT_LIMIT
    if not raw.isdigit() or int(raw) < 1:
        raise invalid_param("Param limit must be a positive integer")
    return min(int(raw), LIKES_MAX_LIMIT)


def _position(likes: tuple[LikedPage, ...], cursor: str) -> int:
    for index, page in enumerate(likes):
        if _cursor(page) == cursor:
            return index
    raise invalid_param("Invalid cursor")


def _link(req: GraphRequest, person: Person, limit: int, key: str, cursor: str) -> str:
    query: dict[str, str] = {}
    # Facebook puts the token and proof into paging links, so a client can follow them as is.
    for name in ("access_token", "appsecret_proof", "appsecret_time", "fields"):
        value = req.params.get(name)
        if value:
            query[name] = str(value)
    if "access_token" not in query and req.caller is not None:
        query["access_token"] = req.caller.token
    query["limit"] = str(limit)
    query[key] = cursor
    return f"{req.public_url()}/{req.version}/{person.asid}/likes?{urlencode(query)}"


def _slice(
    likes: tuple[LikedPage, ...], limit: int, after: str | None, before: str | None
) -> tuple[int, int]:
    """[start, end) of the page of results the cursors ask for."""
    if after is not None:
        start = _position(likes, after) + 1
        return start, min(start + limit, len(likes))
    if before is not None:
        end = _position(likes, before)
        return max(0, end - limit), end
    return 0, min(limit, len(likes))


async def likes(req: GraphRequest) -> dict[str, Any]:
    req.require_user()
    person = subject(req, req.match["node"], "likes")
    if "user_likes" not in req.state.grants_of(person.asid).granted:
        raise GraphError(
            "(#200) The user hasn't authorized the application to perform this action"
            " (user_likes is not granted)",
            code=200,
        )
    fields = req.fields(LIKE_FIELDS)
    for name in fields:
        if name not in LIKE_FIELDS:
            raise invalid_param(f"Tried accessing nonexisting field ({name}) on node type (Page)")
    shown = [name for name in LIKE_FIELDS if name in fields or name == "id"]
    all_likes = person.likes
    target = req.text("target_id")
    if target is not None:
        all_likes = tuple(page for page in all_likes if page.id == target)
    limit = _limit(req)
    start, end = _slice(all_likes, limit, req.text("after"), req.text("before"))
    chunk = all_likes[start:end]
    body: dict[str, Any] = {
        "data": [{name: getattr(page, name) for name in shown} for page in chunk]
    }
    if chunk:
        first, last = _cursor(chunk[0]), _cursor(chunk[-1])
        paging: dict[str, Any] = {"cursors": {"before": first, "after": last}}
        if start > 0:
            paging["previous"] = _link(req, person, limit, "before", first)
        if end < len(all_likes):
            paging["next"] = _link(req, person, limit, "after", last)
        body["paging"] = paging
    body["summary"] = {"total_count": len(all_likes)} if req.text("summary") == "true" else {}
    return body


ENDPOINTS = (
    Endpoint.of("GET", r"(?P<node>me|\d+)/permissions", permissions),
    Endpoint.of("DELETE", r"(?P<node>me|\d+)/permissions(?:/(?P<permission>[A-Za-z_]+))?", revoke),
    Endpoint.of("GET", r"(?P<node>me|\d+)/likes", likes),
    Endpoint.of("GET", r"(?P<node>me|\d+)/picture", picture),
    Endpoint.of("GET", r"(?P<node>me|\d+)", node),
)

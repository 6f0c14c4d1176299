"""An in-process Facebook for :class:`~botperms.testing.ChatTester`: an ``httpx`` handler
(for ``httpx.MockTransport``) answering the Graph requests botperms makes, in Facebook's
shapes: the Send API, the handover API, OAuth code exchange, ``debug_token``,
``/me``, ``/me/permissions``, ``/me/likes`` (paged by cursors), user profiles, account
linking. It also plays the Login dialog for a person the test names.

It is deliberately small and knows nothing of fakebook (the full local stand-in, reached
over HTTP): a test of a bot's handlers should not need a second server.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from botperms.testing.people import (
    PAGE_INBOX_APP_ID,
    Decision,
    Person,
    World,
)

_VERSION = re.compile(r"^/v\d+\.\d+")
HANDOVER_PATHS = (
    "/me/pass_thread_control",
    "/me/take_thread_control",
    "/me/request_thread_control",
)


@dataclass(frozen=True)
class GraphCall:
    """One request the bot made: method, path (without the version), query and JSON body."""

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None


def graph_error(
    message: str, code: int, *, subcode: int | None = None, status: int = 400
) -> httpx.Response:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "A" + secrets.token_hex(5),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error})


class FakeGraph:
    """Answers Graph requests from a :class:`~botperms.testing.people.World`.

    ``calls`` lists every request in order; ``sent`` the Send API bodies in order (what the
    bot said, sender actions included); ``handovers`` the handover calls that succeeded.
    """

    def __init__(self, world: World, *, graph_host: str) -> None:
        self.world = world
        self.graph_host = graph_host
        self.calls: list[GraphCall] = []
        self.sent: list[dict[str, Any]] = []
        self.handovers: list[dict[str, Any]] = []
        self._mid = 0

    # -- the Login dialog (played for the person the test names) ---------------------------
    def authorize(self, url: str, person: Person, decision: Decision) -> str:
        """The dialog at ``url`` answered as ``person`` decides: the redirect it sends."""
        query = dict(parse_qsl(urlsplit(url).query))
        redirect_uri, state = query["redirect_uri"], query.get("state", "")
        if decision.cancel:
            back = {"error": "access_denied", "error_reason": "user_denied", "state": state}
            return f"{redirect_uri}?{urlencode(back)}"
        self.world.decide(person, query.get("scope", "").split(","), decision)
        code = self.world.issue_code(person, redirect_uri)
        return f"{redirect_uri}?{urlencode({'code': code, 'state': state})}"

    # -- HTTP ------------------------------------------------------------------------------
    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path = _VERSION.sub("", request.url.path) or "/"
        query = dict(parse_qsl(request.url.query.decode()))
        body: dict[str, Any] | None = None
        if request.content:
            try:
                decoded = json.loads(request.content)
            except ValueError:
                decoded = dict(parse_qsl(request.content.decode()))
            body = decoded if isinstance(decoded, dict) else None
        self.calls.append(GraphCall(request.method, path, query, body))
        return self._route(request.method, path, query, body or {})

    def _route(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any]
    ) -> httpx.Response:
        token = query.get("access_token", "")
        if path == "/oauth/access_token":
            return self._access_token(query)
        if path == "/debug_token":
            return self._debug_token(query.get("input_token", ""))
        if token == self.world.page_token:
            return self._page_call(method, path, query, body)
        held = self.world.tokens.get(token)
        if held is None:
            return graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        return self._user_call(method, path, query, held.person)

    # -- OAuth ------------------------------------------------------------------------------
    def _access_token(self, query: dict[str, str]) -> httpx.Response:
        if query.get("grant_type") == "fb_exchange_token":
            held = self.world.tokens.get(query.get("fb_exchange_token", ""))
            if held is None:
                return graph_error("Invalid OAuth access token", 190)
            token = self.world.issue_token(held.person, long_lived=True)
            return httpx.Response(
                200, json={"access_token": token, "token_type": "bearer", "expires_in": 5_184_000}
            )
        code = self.world.codes.pop(query.get("code", ""), None)
        if code is None or code.redirect_uri != query.get("redirect_uri"):
            return graph_error("This authorization code has been used.", 100, subcode=36009)
        token = self.world.issue_token(code.person, long_lived=False)
        return httpx.Response(
            200, json={"access_token": token, "token_type": "bearer", "expires_in": 3600}
        )

    def _debug_token(self, input_token: str) -> httpx.Response:
        held = self.world.tokens.get(input_token)
        if held is None:
            data: dict[str, Any] = {
                "is_valid": False,
                "error": {"code": 190, "message": "Invalid OAuth access token."},
            }
            return httpx.Response(200, json={"data": data})
        now = int(time.time())
        data = {
            "app_id": self.world.app_id,
            "type": "USER",
            "application": "botperms test",
            "data_access_expires_at": now + 90 * 86400,
            "expires_at": now + 60 * 86400,
            "is_valid": True,
            "issued_at": now,
            "scopes": sorted(held.person.granted),
            "user_id": held.person.asid,
        }
        return httpx.Response(200, json={"data": data})

    # -- calls with the page token -----------------------------------------------------------
    def _page_call(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any]
    ) -> httpx.Response:
        recipient = str((body.get("recipient") or {}).get("id") or query.get("recipient", ""))
        if method == "POST" and path == "/me/messages":
            return self._send(recipient, body)
        if method == "POST" and path in HANDOVER_PATHS:
            return self._handover(path.rsplit("/", 1)[1], recipient, body)
        if method == "GET" and path == "/me/thread_owner":
            owner = {"app_id": self.world.owner(recipient)}
            return httpx.Response(200, json={"data": [{"thread_owner": owner}]})
        if method == "GET" and path == "/me/secondary_receivers":
            inbox = {"id": PAGE_INBOX_APP_ID, "name": "Page Inbox"}
            return httpx.Response(200, json={"data": [inbox]})
        if method == "GET" and path == "/me" and "account_linking_token" in query:
            psid = self.world.linking_tokens.get(query["account_linking_token"])
            if psid is None:
                return graph_error("Invalid account_linking_token", 10301)
            return httpx.Response(200, json={"id": self.world.page_id, "recipient": psid})
        if method == "POST" and path == "/me/unlink_accounts":
            person = self.world.people.get(str(body.get("psid", "")))
            if person is None or not person.linked:
                return graph_error("(#100) The account is not linked", 100)
            person.linked = False
            return httpx.Response(200, json={"success": True})
        if path == "/me/messenger_profile":
            return httpx.Response(
                200, json={"data": []} if method == "GET" else {"result": "success"}
            )
        if method == "GET" and path.count("/") == 1 and path[1:] in self.world.people:
            person = self.world.people[path[1:]]
            fields = {
                "id": person.psid,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "name": person.name,
            }
            return httpx.Response(200, json=fields)
        return graph_error(f"Unsupported {method.lower()} request: {path}", 100, subcode=33)

    def _send(self, psid: str, body: dict[str, Any]) -> httpx.Response:
        if psid not in self.world.people:
            return graph_error("(#100) No matching user found", 100, subcode=2018001)
        self.sent.append(body)
        if "sender_action" in body:
            return httpx.Response(200, json={"recipient_id": psid})
        self._mid += 1
        return httpx.Response(200, json={"recipient_id": psid, "message_id": f"m_bot{self._mid}"})

    def _handover(self, action: str, psid: str, body: dict[str, Any]) -> httpx.Response:
        world = self.world
        if psid not in world.people:
            return graph_error("(#100) No matching user found", 100, subcode=2018001)
        if action == "pass_thread_control":
            target = str(body.get("target_app_id") or "")
            if target not in (PAGE_INBOX_APP_ID, world.app_id):
                return graph_error("(#100) Invalid target_app_id", 100)
            if world.owner(psid) != world.app_id:
                return graph_error("(#200) This app is not the thread owner", 200)
            world.owners[psid] = target
        elif action == "take_thread_control":
            world.owners.pop(psid, None)  # this app is the primary receiver: it may take
        self.handovers.append({"action": action, "psid": psid, **body})
        return httpx.Response(200, json={"success": True})

    # -- calls with a user token -------------------------------------------------------------
    def _user_call(
        self, method: str, path: str, query: dict[str, str], person: Person
    ) -> httpx.Response:
        if path == "/me/permissions" and method == "DELETE":
            self.world.revoke(person)
            return httpx.Response(200, json={"success": True})
        if path == "/me/permissions":
            rows = [{"permission": s, "status": "granted"} for s in sorted(person.granted)]
            rows += [{"permission": s, "status": "declined"} for s in sorted(person.declined)]
            return httpx.Response(200, json={"data": rows})
        if path == "/me":
            me = {
                "id": person.asid,
                "name": person.name,
                "first_name": person.first_name,
                "last_name": person.last_name,
                **person.me,
            }
            return httpx.Response(200, json=me)
        if path == "/me/likes":
            if "user_likes" not in person.granted:
                return graph_error("(#10) Requires user_likes permission", 10)
            return self._paged(path, query, person.likes)
        edge = person.edges.get(path)
        if isinstance(edge, list):
            return self._paged(path, query, edge)
        if isinstance(edge, dict):
            return httpx.Response(200, json=edge)
        return graph_error(f"Unsupported get request: {path}", 100, subcode=33)

    def _paged(self, path: str, query: dict[str, str], rows: list[Any]) -> httpx.Response:
        """One page of ``rows``: ``limit`` per page (25 by default), cursors and ``next``."""
        limit = max(1, min(int(query.get("limit") or 25), 100))
        after = query.get("after")
        start = int(after) if after and after.isdigit() else 0
        page = rows[start : start + limit]
        data: dict[str, Any] = {"data": page}
        if page:
            cursors = {"before": str(start), "after": str(start + len(page))}
            data["paging"] = {"cursors": cursors}
            if start + len(page) < len(rows):
                nxt = {k: v for k, v in query.items() if k not in ("after", "appsecret_proof")}
                nxt["after"] = cursors["after"]
                data["paging"]["next"] = f"{self.graph_host}{path}?{urlencode(nxt)}"
        return httpx.Response(200, json=data)

"""What every Graph endpoint gets (`GraphRequest`) and how one is declared (`Endpoint`).

Endpoints live in noun modules (send, oauth, users, …), each exporting `ENDPOINTS`; the router
tries them in order. A later feature (account linking, messenger_profile) is one more module
with its own `ENDPOINTS`, added to the list in `routing.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from fakebook.config import FakebookConfig, PageConfig
from fakebook.errors import GraphError, invalid_param
from fakebook.people import Person
from fakebook.state import State
from fakebook.tokens import UserToken

TokenKind = Literal["page", "app", "user"]


@dataclass(frozen=True)
class Caller:
    """Who is calling, from the access token: the page, the app, or a person's user token."""

    kind: TokenKind
    token: str
    user_token: UserToken | None = None
    person: Person | None = None
    # For a page token: which page it belongs to.
    page_id: str | None = None


@dataclass
class GraphRequest:
    request: Request
    state: State
    version: str
    method: str
    params: dict[str, Any]
    match: dict[str, str]
    caller: Caller | None

    @property
    def config(self) -> FakebookConfig:
        return self.state.config

    def public_url(self) -> str:
        if self.config.public_url:
            return self.config.public_url.rstrip("/")
        return str(self.request.base_url).rstrip("/")

    def text(self, name: str, *, required: bool = False) -> str | None:
        """A string parameter; numbers sent in JSON bodies are accepted as their text."""
        value = self.params.get(name)
        if value is None or value == "":
            if required:
                raise invalid_param(f"The parameter {name} is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise invalid_param(f"Param {name} must be a string")
        return str(value)

    def json_object(self, name: str) -> dict[str, Any] | None:
        """An object parameter: a JSON body gives a dict, a form body a JSON-encoded string."""
        value = self.params.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise invalid_param(f"Param {name} must be a JSON object") from None
        if not isinstance(value, dict):
            raise invalid_param(f"Param {name} must be a JSON object")
        return value

    def fields(self, default: tuple[str, ...]) -> list[str]:
        raw = self.text("fields")
        if raw is None:
            return list(default)
        return [part.strip() for part in raw.split(",") if part.strip()]

    def require_token(self) -> Caller:
        if self.caller is None:
            raise GraphError("An access token is required to request this resource.", code=104)
        return self.caller

    @property
    def page(self) -> PageConfig:
        """The calling page token's page (the first page for other callers)."""
        page_id = self.caller.page_id if self.caller is not None else None
        page = self.config.page(page_id)
        assert page is not None
        return page

    def require_page(self) -> Caller:
        caller = self.require_token()
        if caller.kind != "page":
            raise GraphError(
                "(#230) Requires pages_messaging permission to manage the object", code=230
            )
        return caller

    def require_user(self) -> Caller:
        caller = self.require_token()
        if caller.kind != "user" or caller.person is None:
            raise GraphError(
                "An active access token must be used to query information about the current user.",
                code=2500,
            )
        return caller


Handler = Callable[[GraphRequest], Awaitable[dict[str, Any] | Response]]


@dataclass(frozen=True)
class Endpoint:
    """`pattern` matches the path after the version. `when_param` narrows an endpoint to calls
    carrying that parameter, e.g. `GET me` with `account_linking_token` (contract §3) can be
    its own endpoint listed before the plain `GET me`."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    when_param: str | None = None

    @classmethod
    def of(
        cls, method: str, pattern: str, handler: Handler, *, when_param: str | None = None
    ) -> Endpoint:
        return cls(method, re.compile(f"^{pattern}$"), handler, when_param)

    def accepts(self, params: dict[str, Any]) -> bool:
        return self.when_param is None or bool(params.get(self.when_param))

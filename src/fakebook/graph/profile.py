"""The Messenger Profile API: `GET|POST|DELETE /{v}/me/messenger_profile` (contract §4).

A POST sets any subset of properties (all checked before any is stored); a GET needs `fields`
and answers `{"data":[{...}]}`, or `{"data":[]}` when none of them is set; a DELETE takes
`{"fields":[...]}`. The ordering rules Facebook enforces are enforced here too: a persistent
menu needs Get Started, and Get Started cannot go while a menu stays.
"""

from __future__ import annotations

import json
from typing import Any

from fakebook.errors import invalid_param
from fakebook.graph.base import Endpoint, GraphRequest
from fakebook.graph.profile_rules import DEPRECATED, check_properties
from fakebook.messenger_profile import PROPERTIES

_REQUIRES = "Requires one of the params: " + ", ".join(PROPERTIES)


def _known_fields(names: list[str], param: str) -> list[str]:
    unknown = [name for name in names if name not in PROPERTIES]
    if unknown:
        raise invalid_param(
            f"param {param} has unknown field(s) {', '.join(unknown)}; the fields are"
            f" {', '.join(PROPERTIES)}"
        )
    return names


async def get_profile(req: GraphRequest) -> dict[str, Any]:
    req.require_page()
    raw = req.text("fields")
    if raw is None:
        raise invalid_param("The parameter fields is required")
    fields = _known_fields([part.strip() for part in raw.split(",") if part.strip()], "fields")
    found = req.state.messenger_profile.get(fields)
    return {"data": [found] if found else []}


async def set_profile(req: GraphRequest) -> dict[str, Any]:
    req.require_page()
    for name, since in DEPRECATED.items():
        if name in req.params:
            raise invalid_param(f"param {name} is deprecated (since {since}) and no longer set.")
    values = {name: req.params[name] for name in PROPERTIES if name in req.params}
    if not values:
        raise invalid_param(_REQUIRES)
    profile = req.state.messenger_profile
    checked = check_properties(
        values,
        get_started_set=profile.has("get_started"),
        allow_local=req.config.profile_allow_local_urls,
    )
    profile.update(checked)
    return {"result": "success"}


def _delete_fields(req: GraphRequest) -> list[str]:
    value = req.params.get("fields")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else text.split(",")
        except ValueError:
            raise invalid_param("param fields must be an array of field names.") from None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise invalid_param("param fields must be a non-empty array of field names.")
    return _known_fields([name.strip() for name in value], "fields")


async def delete_profile(req: GraphRequest) -> dict[str, Any]:
    req.require_page()
    fields = _delete_fields(req)
    profile = req.state.messenger_profile
    keeps_menu = profile.has("persistent_menu") and "persistent_menu" not in fields
    if "get_started" in fields and keeps_menu:
        raise invalid_param(
            "The Get Started button cannot be deleted while a persistent menu is set;"
            " delete persistent_menu first."
        )
    profile.delete(fields)
    return {"result": "success"}


ENDPOINTS = (
    Endpoint.of("GET", r"me/messenger_profile", get_profile),
    Endpoint.of("POST", r"me/messenger_profile", set_profile),
    Endpoint.of("DELETE", r"me/messenger_profile", delete_profile),
)

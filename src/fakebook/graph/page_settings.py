"""The page's app subscription and per-person menus (contract §1.3, §4), with the page token.

* `POST|GET|DELETE /{page-id}/subscribed_apps`: POST needs `subscribed_fields` (required in the
  Graph reference since v3.2) and answers `{"success": true}`; GET lists this app with its
  fields, or `{"data": []}`. fakebook records the subscription (the control API and the
  settings page show it) but delivers webhooks either way, so a bot that never subscribes
  still works offline; `GET /_fakebook/subscription` tells a test whether it did.
* `POST|GET|DELETE /{page-id}/custom_user_settings`: a persistent menu for one PSID, checked by
  the page-level menu's rules (a Get Started button must be set first); GET answers
  `{"data": [{"user_level_persistent_menu": [...]}]}`, DELETE takes `params=["persistent_menu"]`.
"""

from __future__ import annotations

import json
from typing import Any

from fakebook.errors import invalid_param
from fakebook.graph.base import Endpoint, GraphRequest
from fakebook.graph.profile_rules import check_properties
from fakebook.graph.send import no_matching_user

# The Page webhook fields a Messenger app can subscribe to (Graph reference, Page webhooks).
PAGE_FIELDS = (
    "messages", "message_deliveries", "message_reads", "message_echoes", "message_edits",
    "message_reactions", "messaging_postbacks", "messaging_optins", "messaging_referrals",
    "messaging_account_linking", "messaging_handovers", "messaging_policy_enforcement",
    "messaging_game_plays", "messaging_payments", "messaging_pre_checkouts",
    "messaging_checkout_updates", "messaging_feedback", "messaging_customer_information",
    "messaging_optouts", "standby", "inbox_labels", "feed", "mention", "name", "picture",
)  # fmt: skip


def _page(req: GraphRequest) -> str:
    """The page the path names, which must be the page token's own page."""
    req.require_page()
    page = req.match.get("page")
    if page not in ("me", req.page.id):
        # Another page's id (or none of the app's): Facebook's answer for an object the token
        # cannot reach.
        raise invalid_param(
            f"Unsupported {req.method.lower()} request. Object with ID '{page}' does not exist,"
            " cannot be loaded due to missing permissions, or does not support this operation.",
            subcode=33,
        )
    return req.page.id


def _list(req: GraphRequest, name: str) -> list[str]:
    """A list parameter: a JSON array (body or JSON-encoded string) or comma-separated text."""
    value = req.params.get(name)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else text.split(",")
        except ValueError:
            raise invalid_param(f"Param {name} must be an array") from None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid_param(f"The parameter {name} is required")
    found = [item.strip() for item in value if item.strip()]
    if not found:
        raise invalid_param(f"The parameter {name} is required")
    return found


async def subscribe(req: GraphRequest) -> dict[str, Any]:
    page_id = _page(req)
    fields = _list(req, "subscribed_fields")
    for index, name in enumerate(fields):
        if name not in PAGE_FIELDS:
            raise invalid_param(
                f"Param subscribed_fields[{index}] must be one of {{{', '.join(PAGE_FIELDS)}}}"
                f' - got "{name}"'
            )
    req.state.subscriptions[page_id] = list(dict.fromkeys(fields))
    return {"success": True}


async def subscriptions(req: GraphRequest) -> dict[str, Any]:
    fields = req.state.subscriptions.get(_page(req))
    if fields is None:
        return {"data": []}
    config = req.config
    app = {
        "category": "Business",
        "link": f"{req.public_url()}/",
        "name": config.app_name,
        "id": config.app_id,
        "subscribed_fields": list(fields),
    }
    return {"data": [app]}


async def unsubscribe(req: GraphRequest) -> dict[str, Any]:
    req.state.subscriptions.pop(_page(req), None)
    return {"success": True}


def _psid(req: GraphRequest) -> str:
    psid = req.text("psid", required=True)
    if psid is None or psid not in req.state.by_psid:
        raise no_matching_user()
    return psid


async def set_user_menu(req: GraphRequest) -> dict[str, Any]:
    _page(req)
    psid = _psid(req)
    if "persistent_menu" not in req.params:
        raise invalid_param("The parameter persistent_menu is required")
    profile = req.state.messenger_profile
    checked = check_properties(
        {"persistent_menu": req.params["persistent_menu"]},
        get_started_set=profile.has("get_started"),
        allow_local=req.config.profile_allow_local_urls,
    )
    profile.user_menus[psid] = checked["persistent_menu"]
    return {"result": "success"}


async def get_user_menu(req: GraphRequest) -> dict[str, Any]:
    _page(req)
    menu = req.state.messenger_profile.user_menus.get(_psid(req))
    return {"data": [{"user_level_persistent_menu": menu}] if menu is not None else []}


async def delete_user_menu(req: GraphRequest) -> dict[str, Any]:
    _page(req)
    psid = _psid(req)
    params = _list(req, "params")
    if params != ["persistent_menu"]:
        raise invalid_param('Param params must be ["persistent_menu"]')
    req.state.messenger_profile.user_menus.pop(psid, None)
    return {"result": "success"}


_PAGE = r"(?P<page>me|\d+)"
ENDPOINTS = (
    Endpoint.of("POST", rf"{_PAGE}/subscribed_apps", subscribe),
    Endpoint.of("GET", rf"{_PAGE}/subscribed_apps", subscriptions),
    Endpoint.of("DELETE", rf"{_PAGE}/subscribed_apps", unsubscribe),
    Endpoint.of("POST", rf"{_PAGE}/custom_user_settings", set_user_menu),
    Endpoint.of("GET", rf"{_PAGE}/custom_user_settings", get_user_menu),
    Endpoint.of("DELETE", rf"{_PAGE}/custom_user_settings", delete_user_menu),
)

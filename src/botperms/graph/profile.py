"""Messenger Profile API calls: read, set and delete the page's profile properties (page token).

The calls move Facebook's JSON as it is; the file format, validation, diff and ordering live in
:mod:`botperms.messenger.profile`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botperms.graph.client import GraphClient

PROFILE_PATH = "/me/messenger_profile"


async def get_messenger_profile(
    graph: GraphClient, page_token: str, fields: Sequence[str]
) -> dict[str, Any]:
    """The requested properties the page has set; properties that are not set are absent.

    Facebook answers ``{"data":[{...}]}``, or ``{"data":[]}`` when none of them is set.
    """
    if not fields:
        raise ValueError("name at least one profile field to read")
    data = await graph.request(
        "GET", PROFILE_PATH, access_token=page_token, params={"fields": ",".join(fields)}
    )
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return {}
    return dict(items[0])


async def set_messenger_profile(
    graph: GraphClient, page_token: str, properties: Mapping[str, Any]
) -> None:
    """Set these properties (others stay as they are)."""
    if not properties:
        raise ValueError("nothing to set")
    # Setting the same values twice leaves the same profile, so a retry after a timeout is safe.
    await graph.request(
        "POST", PROFILE_PATH, access_token=page_token, json=dict(properties), idempotent=True
    )


async def delete_messenger_profile(
    graph: GraphClient, page_token: str, fields: Sequence[str]
) -> None:
    """Remove these properties from the page's profile."""
    if not fields:
        raise ValueError("name at least one profile field to delete")
    await graph.request(
        "DELETE", PROFILE_PATH, access_token=page_token, json={"fields": list(fields)}
    )

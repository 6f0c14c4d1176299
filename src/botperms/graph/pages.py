"""A page's own Graph calls: who a page token belongs to, and the app's webhook subscription
to the page (``/{page-id}/subscribed_apps``, contract §1.3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from botperms.graph.client import GraphClient
from botperms.graph.errors import GraphError

# The Page webhook fields botperms handles (contract §1.3/§1.4): what `botperms pages add`
# subscribes the app to. Echoes are left out: the bot would only read its own messages back.
WEBHOOK_FIELDS = (
    "messages",
    "messaging_postbacks",
    "messaging_optins",
    "messaging_referrals",
    "messaging_account_linking",
    "message_deliveries",
    "message_reads",
    "message_reactions",
    "messaging_handovers",
    "messaging_policy_enforcement",
    "standby",
)


@dataclass(frozen=True)
class PageIdentity:
    id: str
    name: str


async def page_identity(graph: GraphClient, page_token: str) -> PageIdentity:
    """The page a page token belongs to: a page token's ``/me`` is the page. Raises
    :class:`~botperms.graph.InvalidTokenError` (code 190) for a bad or expired token."""
    data = await graph.request("GET", "/me", access_token=page_token, params={"fields": "id,name"})
    if not isinstance(data, dict) or not data.get("id"):
        raise GraphError("Facebook's answer to /me named no page")
    return PageIdentity(id=str(data["id"]), name=str(data.get("name") or data["id"]))


async def subscribe_app(
    graph: GraphClient, page_id: str, page_token: str, fields: Sequence[str] = WEBHOOK_FIELDS
) -> None:
    """Subscribe the app to the page's webhooks for ``fields`` (repeating it is harmless)."""
    await graph.request(
        "POST",
        f"/{page_id}/subscribed_apps",
        access_token=page_token,
        json={"subscribed_fields": list(fields)},
        idempotent=True,
    )


async def unsubscribe_app(graph: GraphClient, page_id: str, page_token: str) -> None:
    """Stop the page's webhooks to the app."""
    await graph.request("DELETE", f"/{page_id}/subscribed_apps", access_token=page_token)

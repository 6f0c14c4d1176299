"""Account linking on the Graph side: who is linking (PSID from the token), and unlinking."""

from __future__ import annotations

from botperms.graph.client import GraphClient
from botperms.graph.errors import GraphError, LinkingTokenError


async def psid_for_linking_token(
    graph: GraphClient, page_token: str, account_linking_token: str
) -> str:
    """The PSID of the person who tapped the ``account_link`` button (contract §3).

    Raises :class:`LinkingTokenError` when Facebook says the token expired or is unknown (code
    10301), and :class:`GraphError` when the answer names no recipient.
    """
    if not account_linking_token:
        raise LinkingTokenError("no account_linking_token", code=10301)
    data = await graph.request(
        "GET",
        "/me",
        access_token=page_token,
        params={"fields": "recipient", "account_linking_token": account_linking_token},
    )
    recipient = data.get("recipient") if isinstance(data, dict) else None
    if not isinstance(recipient, str | int) or not str(recipient):
        raise GraphError("Facebook's answer named no recipient for the account_linking_token")
    return str(recipient)


async def unlink_account(graph: GraphClient, page_token: str, psid: str) -> None:
    """Unlink the person's account on Messenger's side (``POST /me/unlink_accounts``).

    Safe to repeat: unlinking is a state, so this POST is marked idempotent and retried on
    transient errors.
    """
    await graph.request(
        "POST",
        "/me/unlink_accounts",
        access_token=page_token,
        json={"psid": psid},
        idempotent=True,
    )

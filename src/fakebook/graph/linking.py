"""Account linking's Graph side (contract §3): the PSID look-up and the unlink endpoint.

* `GET me?fields=recipient&account_linking_token=T` with the page token →
  `{"id": PAGE_ID, "recipient": PSID}`; an unknown or expired T fails with code 10301.
* `POST me/unlink_accounts` with the page token and `psid` →
  `{"result": "unlink account success"}`, then an `unlinked` webhook unless
  `unlink_api_sends_webhook` is off (contract §11.7).
"""

from __future__ import annotations

from typing import Any

from fakebook.account_linking import Linker
from fakebook.errors import GraphError, invalid_param
from fakebook.graph.base import Endpoint, GraphRequest
from fakebook.graph.send import no_matching_user

LINKING_TOKEN_CODE = 10301


def linking_token_error() -> GraphError:
    return GraphError(
        f"(#{LINKING_TOKEN_CODE}) The account linking token is invalid or has expired.",
        code=LINKING_TOKEN_CODE,
    )


def _linker(req: GraphRequest) -> Linker:
    linker: Linker = req.request.app.state.linker
    return linker


async def psid_for_token(req: GraphRequest) -> dict[str, Any]:
    req.require_page()
    token = req.text("account_linking_token", required=True)
    assert token is not None
    found = req.state.linking.valid(token, req.state.now())
    page = req.page
    if found is None or (found.page_id or req.config.page_id) != page.id:
        # Minted for another page: that page's token is the only one that knows it.
        raise linking_token_error()
    values = {
        "id": page.id,
        "name": page.name,
        "username": page.username,
        "recipient": found.psid,
    }
    out: dict[str, Any] = {}
    for name in req.fields(("recipient",)):
        if name not in values:
            raise invalid_param(f"Tried accessing nonexisting field ({name}) on node type (Page)")
        if values[name] is not None:
            out[name] = values[name]
    return {"id": page.id, **out}


async def unlink_accounts(req: GraphRequest) -> dict[str, Any]:
    req.require_page()
    psid = req.text("psid", required=True)
    if psid is None or psid not in req.state.by_psid:
        raise no_matching_user()
    webhook = req.config.unlink_api_sends_webhook
    _linker(req).unlink(psid, via="api", webhook=webhook, page_id=req.page.id)
    return {"result": "unlink account success"}


ENDPOINTS = (
    Endpoint.of("GET", r"me", psid_for_token, when_param="account_linking_token"),
    Endpoint.of("POST", r"me/unlink_accounts", unlink_accounts),
)

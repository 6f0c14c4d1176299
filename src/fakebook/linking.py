"""Account linking's records (contract §3): linking tokens and each person's linking outcomes.

Pure data, kept in `State`; the actions that use it (minting from the button, the redirect
target, unlinking) live in account_linking.py, the Graph look-ups in graph/linking.py.

A token is minted per tap, is opaque and URL-safe, and is valid for `account_linking_token_ttl`
seconds (5 minutes on Facebook). The PSID look-up accepts it until it expires; the redirect
target accepts it once (the first redirect uses it up, whatever its outcome).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

OutcomeStatus = Literal["linked", "cancelled", "expired", "unlinked"]


@dataclass
class LinkingToken:
    token: str
    psid: str
    issued_at: float
    expires_at: float
    used: bool = False
    # The page whose account_link button was tapped (None: the first page); only that
    # page's token resolves it.
    page_id: str | None = None

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at


@dataclass
class LinkingBook:
    tokens: dict[str, LinkingToken] = field(default_factory=dict)
    # Per PSID, newest last: what happened at each redirect or unlink.
    outcomes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def mint(self, psid: str, *, now: float, ttl: int, page_id: str | None = None) -> LinkingToken:
        # Facebook's tokens are long, encrypted blobs; only their opacity matters to a bot.
        token = LinkingToken(
            token="ARQ" + secrets.token_urlsafe(96),
            psid=psid,
            issued_at=now,
            expires_at=now + ttl,
            page_id=page_id,
        )
        self.tokens[token.token] = token
        return token

    def valid(self, token: str, now: float) -> LinkingToken | None:
        """The token's record if it exists and has not expired (used or not)."""
        found = self.tokens.get(token)
        if found is None or found.is_expired(now):
            return None
        return found

    def record(
        self,
        psid: str,
        status: OutcomeStatus,
        *,
        now: float,
        via: str,
        authorization_code: str | None = None,
    ) -> dict[str, Any]:
        outcome: dict[str, Any] = {
            "status": status,
            "authorization_code": authorization_code,
            "at": int(now * 1000),
            "via": via,
            # Filled in when the account_linking webhook (if one is sent) has finished.
            "webhook": None,
        }
        self.outcomes.setdefault(psid, []).append(outcome)
        return outcome

    def of(self, psid: str) -> list[dict[str, Any]]:
        return list(self.outcomes.get(psid, []))

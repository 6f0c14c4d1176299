"""User access tokens and authorization codes: issue, look up, expire, invalidate.

Tokens are random "EAA…" strings, as Facebook's look, mapped to a record. A token's scopes are
not stored on it: like Facebook, they follow the person's current grants to the app, so a
permission revoked after login is gone from every token at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Literal

Invalidation = Literal["app_removed", "password_changed"]

# Subcodes Facebook uses for a token that is no longer valid (contract §2.4).
SUBCODE_EXPIRED = 463
SUBCODE_APP_REMOVED = 458
SUBCODE_PASSWORD_CHANGED = 460


@dataclass
class UserToken:
    token: str
    asid: str
    issued_at: float
    expires_at: float
    data_access_expires_at: float
    long_lived: bool
    invalidated: Invalidation | None = None

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at


@dataclass
class AuthCode:
    code: str
    asid: str
    redirect_uri: str
    expires_at: float
    code_challenge: str | None
    code_challenge_method: str | None
    used: bool = False


@dataclass
class TokenBook:
    users: dict[str, UserToken] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    app_tokens: set[str] = field(default_factory=set)

    def issue_user(
        self, asid: str, *, now: float, ttl: int, data_access_ttl: int, long_lived: bool
    ) -> UserToken:
        token = UserToken(
            token="EAA" + secrets.token_urlsafe(90).replace("-", "A").replace("_", "Z"),
            asid=asid,
            issued_at=now,
            expires_at=now + ttl,
            data_access_expires_at=now + data_access_ttl,
            long_lived=long_lived,
        )
        self.users[token.token] = token
        return token

    def issue_code(
        self,
        asid: str,
        *,
        redirect_uri: str,
        now: float,
        ttl: int,
        code_challenge: str | None,
        code_challenge_method: str | None,
    ) -> AuthCode:
        code = AuthCode(
            code="AQ" + secrets.token_urlsafe(150),
            asid=asid,
            redirect_uri=redirect_uri,
            expires_at=now + ttl,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
        )
        self.codes[code.code] = code
        return code

    def issue_app_token(self, app_id: str) -> str:
        # Facebook's client_credentials token is "{app_id}|{opaque}", not the secret itself.
        token = f"{app_id}|{secrets.token_urlsafe(20)}"
        self.app_tokens.add(token)
        return token

    def of_person(self, asid: str) -> list[UserToken]:
        return [token for token in self.users.values() if token.asid == asid]

    def expire_person(self, asid: str, now: float) -> int:
        tokens = self.of_person(asid)
        for token in tokens:
            token.expires_at = min(token.expires_at, now)
        return len(tokens)

    def invalidate_person(self, asid: str, reason: Invalidation) -> int:
        tokens = [token for token in self.of_person(asid) if token.invalidated is None]
        for token in tokens:
            token.invalidated = reason
        return len(tokens)

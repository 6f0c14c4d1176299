"""What the in-process fake Facebook knows: people, their grants, their tokens, the threads.

Plain data, no HTTP: :mod:`botperms.testing.fake_graph` answers Graph requests from it, and
:class:`~botperms.testing.ChatTester` changes it as a test says ("this person grants
user_likes and likes these pages").
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PAGE_INBOX_APP_ID = "263902037430900"  # the Page Inbox's app id (platform contract §1.4)
# The test world's app and page, and the hosts the tester serves in process.
APP_ID, PAGE_ID, PAGE_TOKEN = "100000000000001", "200000000000002", "EAAtestpagetoken"
PUBLIC_URL = "https://bot.example.com"
WWW_URL = "https://www.facebook.com"
PUBLIC_PROFILE = "public_profile"


def _asid(psid: str) -> str:
    # An app-scoped id unlike the PSID, as on Facebook, but stable for a given PSID.
    return str(int(hashlib.sha256(psid.encode()).hexdigest()[:12], 16))


def _liked(items: Iterable[str | Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, str):
            rows.append({"id": str(900_000 + number), "name": item})
        else:
            rows.append({"id": str(900_000 + number), **dict(item)})
    return rows


@dataclass
class Person:
    """A Facebook user in conversation with the Page. ``granted``/``declined``: what they
    decided for this app in the Login dialog (Facebook remembers it across logins)."""

    psid: str
    first_name: str
    last_name: str = "Tester"
    granted: set[str] = field(default_factory=lambda: {PUBLIC_PROFILE})
    declined: set[str] = field(default_factory=set)
    likes: list[dict[str, Any]] = field(default_factory=list)
    me: dict[str, Any] = field(default_factory=dict)
    edges: dict[str, Any] = field(default_factory=dict)
    linked: bool = False

    @property
    def asid(self) -> str:
        return _asid(self.psid)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def seed(
        self,
        *,
        likes: Sequence[str | Mapping[str, Any]] | None,
        me: Mapping[str, Any] | None,
        edges: Mapping[str, Any] | None,
    ) -> None:
        """Graph data a user token of this person reads: liked Pages (names or rows),
        extra ``/me`` fields, and other edges (``{"/me/photos": [...]}``: a list is paged)."""
        if likes is not None:
            self.likes = _liked(likes)
        if me is not None:
            self.me.update(me)
        if edges is not None:
            self.edges.update(edges)


@dataclass(frozen=True)
class Decision:
    """What a person does in the next Login dialog: approve ``grant``, decline ``decline``
    (other requested scopes are declined too), or press Cancel."""

    grant: frozenset[str] = frozenset()
    decline: frozenset[str] = frozenset()
    cancel: bool = False


@dataclass
class UserToken:
    person: Person
    long_lived: bool = False


@dataclass
class Code:
    person: Person
    redirect_uri: str


@dataclass
class World:
    """Everything the fake Facebook holds for one test."""

    app_id: str
    page_id: str
    page_token: str
    people: dict[str, Person] = field(default_factory=dict)
    tokens: dict[str, UserToken] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    linking_tokens: dict[str, str] = field(default_factory=dict)
    # Thread owners by PSID; a thread nobody passed is owned by this app (primary receiver).
    owners: dict[str, str] = field(default_factory=dict)

    def person(self, psid: str) -> Person:
        if psid not in self.people:
            self.people[psid] = Person(psid, first_name=f"Person {psid}")
        return self.people[psid]

    def owner(self, psid: str) -> str:
        return self.owners.get(psid, self.app_id)

    def decide(self, person: Person, requested: Iterable[str], decision: Decision) -> None:
        """Apply a Login dialog decision: Facebook keeps the union of what was ever granted."""
        wanted = set(requested) | {PUBLIC_PROFILE}
        approved = (wanted - decision.decline) & (set(decision.grant) | {PUBLIC_PROFILE})
        # Scopes the test grants beyond the request count as granted in an earlier login.
        approved |= set(decision.grant) - decision.decline
        person.granted |= approved
        person.granted -= decision.decline
        person.declined = (person.declined | (wanted - approved)) - person.granted

    def issue_code(self, person: Person, redirect_uri: str) -> str:
        code = "code-" + secrets.token_urlsafe(12)
        self.codes[code] = Code(person, redirect_uri)
        return code

    def issue_token(self, person: Person, *, long_lived: bool) -> str:
        token = ("EAAlong" if long_lived else "EAAshort") + secrets.token_urlsafe(16)
        self.tokens[token] = UserToken(person, long_lived)
        return token

    def issue_linking_token(self, psid: str) -> str:
        token = "alt-" + secrets.token_urlsafe(12)
        self.linking_tokens[token] = psid
        return token

    def revoke(self, person: Person) -> None:
        """``DELETE /me/permissions``: the app loses every grant and every token."""
        person.granted = {PUBLIC_PROFILE}
        person.declined = set()
        for token in [t for t, held in self.tokens.items() if held.person is person]:
            del self.tokens[token]

"""All of fakebook's in-memory world, in one object that `reset()` returns to the seed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakebook.config import FakebookConfig
from fakebook.conversations import Conversation
from fakebook.faults import FaultList
from fakebook.handover import Threads
from fakebook.linking import LinkingBook
from fakebook.messenger_profile import MessengerProfile
from fakebook.people import Person, seed_people
from fakebook.shaping import Shaping
from fakebook.tokens import TokenBook

Clock = Callable[[], float]


@dataclass
class Grants:
    """What one person granted or declined to the app; public_profile is always granted."""

    granted: list[str] = field(default_factory=lambda: ["public_profile"])
    declined: list[str] = field(default_factory=list)

    def grant(self, scope: str) -> None:
        if scope not in self.granted:
            self.granted.append(scope)
        if scope in self.declined:
            self.declined.remove(scope)

    def decline(self, scope: str) -> None:
        if scope == "public_profile":
            return
        if scope in self.granted:
            self.granted.remove(scope)
        if scope not in self.declined:
            self.declined.append(scope)

    def describe(self) -> dict[str, list[str]]:
        return {"granted": list(self.granted), "declined": list(self.declined)}


class State:
    def __init__(self, config: FakebookConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or time.time
        self.reset()

    def reset(self) -> None:
        self.people: tuple[Person, ...] = seed_people()
        self.by_psid = {person.psid: person for person in self.people}
        self.by_asid = {person.asid: person for person in self.people}
        # Only people who have logged in to the app have an entry (an "installed" app).
        self.grants: dict[str, Grants] = {}
        self.tokens = TokenBook()
        # One thread per (page, PSID): a person can chat with several pages of the app.
        self.conversations: dict[tuple[str, str], Conversation] = {}
        self.sent: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.faults = FaultList()
        self.shaping = Shaping()
        self.messenger_profile = MessengerProfile()
        # Per page, the fields of POST /{page-id}/subscribed_apps; absent: not subscribed.
        self.subscriptions: dict[str, list[str]] = {}
        self.linking = LinkingBook()
        # Who owns each thread (handover protocol): the bot's app unless it was passed.
        self.threads = Threads(self.config.app_id)
        # ASIDs that removed the app (Settings → Apps and Websites lists it as removed).
        self.removed_apps: set[str] = set()
        # Every deauthorize / data-deletion callback call fakebook made, oldest first.
        self.app_callbacks: list[dict[str, Any]] = []

    def now(self) -> float:
        return self.clock()

    @property
    def subscribed_fields(self) -> list[str] | None:
        """The first page's subscription (None: the app is not subscribed to it)."""
        return self.subscriptions.get(self.config.page_id)

    def conversation(self, psid: str, page_id: str | None = None) -> Conversation:
        """The thread of ``psid`` with ``page_id`` (the first page when None)."""
        key = (page_id or self.config.page_id, psid)
        if key not in self.conversations:
            self.conversations[key] = Conversation(psid=psid)
        return self.conversations[key]

    def person(self, psid_or_asid: str) -> Person | None:
        return self.by_psid.get(psid_or_asid) or self.by_asid.get(psid_or_asid)

    def grants_of(self, asid: str) -> Grants:
        if asid not in self.grants:
            self.grants[asid] = Grants()
        return self.grants[asid]

    def remove_app(self, asid: str) -> None:
        """The person removed the app: grants are forgotten and every token dies (458)."""
        if self.grants.pop(asid, None) is not None:
            self.removed_apps.add(asid)
        self.tokens.invalidate_person(asid, "app_removed")

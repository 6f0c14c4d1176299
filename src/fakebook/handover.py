"""The handover protocol (contract §1.4): who owns each thread, and the Page Inbox.

Two apps receive a page's messages: the bot's app (the primary receiver) and the Page Inbox
(app id 263902037430900, a secondary receiver), where a person of the Page answers by hand.
A thread belongs to the bot until someone passes it. While another app owns it, the person's
events reach the bot as `standby[]` entries and the Page Inbox's messages arrive as standby
echoes; handover events themselves (`pass_thread_control`, `request_thread_control`) go in
`messaging[]`.

Errors follow Facebook's handover API: a non-owner that passes gets (#200), an unknown target
app (#100), a take by an app that is not the primary receiver (#200).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakebook.errors import GraphError, invalid_param

PAGE_INBOX_APP_ID = "263902037430900"
PAGE_INBOX_NAME = "Page Inbox"
HANDOVER_KINDS = frozenset(
    {"pass_thread_control", "take_thread_control", "request_thread_control", "app_roles"}
)
METADATA_MAX = 1000


def not_owner() -> GraphError:
    return GraphError(
        "(#200) The app is not the owner of this thread and cannot pass thread control",
        code=200,
    )


def not_primary() -> GraphError:
    return GraphError("(#200) Only the primary receiver can take thread control", code=200)


@dataclass
class Threads:
    """Thread owners per (page, PSID); absent means the primary receiver (the bot's app)."""

    primary_app_id: str
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    # Every successful handover call, oldest first (for the control API and tests).
    log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def apps(self) -> frozenset[str]:
        return frozenset({self.primary_app_id, PAGE_INBOX_APP_ID})

    def owner(self, page_id: str, psid: str) -> str:
        return self.owners.get((page_id, psid), self.primary_app_id)

    def is_standby(self, page_id: str, psid: str, event: dict[str, Any]) -> bool:
        """Whether `event` reaches the bot in `standby[]`: the thread is another app's, and
        the event is not a handover notice addressed to the bot."""
        if any(kind in event for kind in HANDOVER_KINDS):
            return False
        return self.owner(page_id, psid) != self.primary_app_id

    def pass_control(
        self, page_id: str, psid: str, *, by: str, target: str, metadata: str | None
    ) -> dict[str, Any]:
        """`by` hands the thread to `target`; returns the `pass_thread_control` event body."""
        _check_metadata(metadata)
        if target not in self.apps or target == by:
            raise invalid_param(f"(#100) Invalid target_app_id {target}")
        previous = self.owner(page_id, psid)
        if previous != by:
            raise not_owner()
        self._set(page_id, psid, target)
        body = {"previous_owner_app_id": previous, "new_owner_app_id": target}
        return self._record("pass_thread_control", page_id, psid, by, body, metadata)

    def take_control(
        self, page_id: str, psid: str, *, by: str, metadata: str | None
    ) -> dict[str, Any]:
        """The primary receiver takes the thread; returns the `take_thread_control` body."""
        _check_metadata(metadata)
        if by != self.primary_app_id:
            raise not_primary()
        previous = self.owner(page_id, psid)
        self._set(page_id, psid, by)
        body = {"previous_owner_app_id": previous, "new_owner_app_id": by}
        return self._record("take_thread_control", page_id, psid, by, body, metadata)

    def request_control(
        self, page_id: str, psid: str, *, by: str, metadata: str | None
    ) -> dict[str, Any]:
        """`by` asks the owner for the thread; returns the `request_thread_control` body."""
        _check_metadata(metadata)
        if self.owner(page_id, psid) == by:
            raise invalid_param("(#100) The app already owns this thread")
        body = {"requested_owner_app_id": by}
        return self._record("request_thread_control", page_id, psid, by, body, metadata)

    def _set(self, page_id: str, psid: str, app_id: str) -> None:
        if app_id == self.primary_app_id:
            self.owners.pop((page_id, psid), None)
        else:
            self.owners[(page_id, psid)] = app_id

    def _record(
        self,
        action: str,
        page_id: str,
        psid: str,
        by: str,
        body: dict[str, Any],
        metadata: str | None,
    ) -> dict[str, Any]:
        if metadata is not None:
            body["metadata"] = metadata
        self.log.append({"action": action, "page_id": page_id, "psid": psid, "by": by, **body})
        return body


def _check_metadata(metadata: str | None) -> None:
    if metadata is not None and len(metadata) > METADATA_MAX:
        raise invalid_param(f"(#100) metadata must be at most {METADATA_MAX} characters")

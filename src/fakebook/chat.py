"""The person's side of a Messenger thread: what they do, recorded and sent to the bot.

Each action opens (or resets) the 24-hour window, is stored in the conversation and becomes one
webhook event. Shapes follow contract §1.4.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fakebook.state import State
from fakebook.webhooks import WebhookDeliverer

Delivery = asyncio.Task[dict[str, Any]]
_REF = re.compile(r"^[A-Za-z0-9_=\-]{1,250}$")


class ChatError(ValueError):
    """A person-side action that cannot happen (unknown person, empty text, bad ref)."""


class Chat:
    def __init__(self, state: State, deliverer: WebhookDeliverer) -> None:
        self.state = state
        self.deliverer = deliverer

    def _psid(self, psid: str) -> str:
        if psid not in self.state.by_psid:
            raise ChatError(f"no fake person with PSID {psid}")
        return psid

    def _page(self, page_id: str | None) -> str:
        page = self.state.config.page(page_id)
        if page is None:
            raise ChatError(f"no fake page {page_id}")
        return page.id

    def message(
        self,
        psid: str,
        text: str,
        quick_reply_payload: str | None = None,
        *,
        page_id: str | None = None,
    ) -> tuple[dict[str, Any], Delivery]:
        """The person types `text` (or taps a quick reply whose title is `text`) in their
        thread with `page_id` (the first page when None)."""
        self._psid(psid)
        page = self._page(page_id)
        if not text:
            raise ChatError("a message needs text")
        recorded: dict[str, Any] = {"kind": "message", "text": text}
        if quick_reply_payload is not None:
            recorded["quick_reply"] = {"payload": quick_reply_payload}
        entry = self.state.conversation(psid, page).add_incoming(recorded, now=self.state.now())
        message: dict[str, Any] = {"mid": entry["mid"], "text": text}
        if quick_reply_payload is not None:
            message["quick_reply"] = {"payload": quick_reply_payload}
        return entry, self.deliverer.submit(psid, {"message": message}, page)

    def postback(
        self, psid: str, title: str, payload: str, *, page_id: str | None = None
    ) -> tuple[dict[str, Any], Delivery]:
        """The person taps a postback button."""
        self._psid(psid)
        page = self._page(page_id)
        if not payload:
            raise ChatError("a postback needs a payload")
        recorded = {"kind": "postback", "postback": {"title": title, "payload": payload}}
        entry = self.state.conversation(psid, page).add_incoming(recorded, now=self.state.now())
        event = {"mid": entry["mid"], "title": title, "payload": payload}
        return entry, self.deliverer.submit(psid, {"postback": event}, page)

    def referral(
        self, psid: str, ref: str, *, page_id: str | None = None
    ) -> tuple[dict[str, Any], Delivery]:
        """The person follows an m.me link with `ref` into an existing thread (contract §9)."""
        self._psid(psid)
        page = self._page(page_id)
        if not _REF.match(ref):
            raise ChatError("ref allows only letters, digits, '-', '_' and '='")
        referral = {"ref": ref, "source": "SHORTLINK", "type": "OPEN_THREAD"}
        entry = self.state.conversation(psid, page).add_incoming(
            {"kind": "referral", "referral": referral}, now=self.state.now()
        )
        return entry, self.deliverer.submit(psid, {"referral": referral}, page)

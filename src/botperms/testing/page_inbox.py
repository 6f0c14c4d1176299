"""The Page Inbox's side of a :class:`~botperms.testing.ChatTester` conversation (handover):
who owns a thread, and what a person answering in the Page Inbox does."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from botperms.testing import events
from botperms.testing.people import PAGE_INBOX_APP_ID, World
from botperms.testing.replies import Replies


class PageInboxSide:
    """Mixed into ``ChatTester``, which provides these."""

    world: World
    app_id: str
    page_id: str

    if TYPE_CHECKING:  # provided by ChatTester

        async def deliver(
            self, body: Mapping[str, Any], *, psid: str | None = "1", standby: bool | None = None
        ) -> Replies: ...

        async def _finish_pending(self) -> None: ...

        async def _after(self, action: Awaitable[object]) -> Replies: ...

        async def _post_webhook(self, body: dict[str, Any]) -> None: ...

    # -- handover (the Page Inbox's side) -------------------------------------------------------
    def thread_owner(self, psid: str) -> str:
        """The app id that owns ``psid``'s thread (this bot's, or the Page Inbox's)."""
        return self.world.owner(psid)

    async def inbox_passes_back(self, psid: str, *, metadata: str | None = None) -> Replies:
        """A person at the Page Inbox hands the thread back to the bot."""
        previous = self.world.owner(psid)
        self.world.owners.pop(psid, None)
        body: dict[str, Any] = {"previous_owner_app_id": previous, "new_owner_app_id": self.app_id}
        if metadata is not None:
            body["metadata"] = metadata
        return await self.deliver({"pass_thread_control": body}, psid=psid, standby=False)

    async def inbox_says(self, psid: str, text: str) -> Replies:
        """A person at the Page Inbox writes to ``psid``: the bot gets the message's echo
        (``is_echo``, the Page Inbox's ``app_id``) in ``standby[]``."""
        echo = {"is_echo": True, "app_id": int(PAGE_INBOX_APP_ID), "mid": events.new_mid()}
        item = events.event(self.page_id, psid, {"message": {**echo, "text": text}})
        # An echo is the page's message: sent by the page, to the person.
        item["sender"], item["recipient"] = {"id": self.page_id}, {"id": psid}
        await self._finish_pending()
        body = events.delivery(self.page_id, [item], standby=True)
        return await self._after(self._post_webhook(body))

    async def inbox_requests(self, psid: str, *, metadata: str | None = None) -> Replies:
        """The Page Inbox asks the bot for the thread (``request_thread_control``)."""
        body: dict[str, Any] = {"requested_owner_app_id": PAGE_INBOX_APP_ID}
        if metadata is not None:
            body["metadata"] = metadata
        return await self.deliver({"request_thread_control": body}, psid=psid, standby=False)

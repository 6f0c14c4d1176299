"""The handover protocol on ``ctx`` (platform contract §1.4): hand the conversation to another
app (the Page Inbox, where a person answers), take it back, ask for it, see who has it.

Passing, taking and requesting are effects like replies: they are queued in the outbox with
the event, so they happen exactly once, only if the handler returns, and after the replies
queued before them (a goodbye goes out before the thread moves). ``thread_owner`` is a read
and happens at once.
"""

from __future__ import annotations

from botperms.bot.runtime import Runtime
from botperms.graph.handover import (
    PAGE_INBOX_APP_ID,
    thread_control,
    thread_owner,
)
from botperms.store import Effect, Send

__all__ = ["PAGE_INBOX_APP_ID", "Handover"]


class Handover:
    """Mixed into :class:`~botperms.bot.Context`."""

    _runtime: Runtime
    page_id: str
    psid: str
    effects: list[Effect]

    def _thread_call(self, payload: dict[str, object]) -> None:
        if not self.psid:
            raise ValueError("this event has no person: there is no thread to hand over")
        self.effects.append(Send(self.page_id, self.psid, dict(payload)))

    async def pass_thread_control(
        self, target_app_id: str = PAGE_INBOX_APP_ID, *, metadata: str | None = None
    ) -> None:
        """Hand this conversation to another app: by default the Page Inbox, where a person
        answers. Until it comes back (the other app passes it back, or :meth:`take_thread_control`)
        the person's messages arrive as standby events: ``@bot.on_standby`` sees them, nothing
        answers them. ``metadata`` (at most 1000 characters) goes to the other app."""
        self._thread_call(
            thread_control("pass_thread_control", target_app_id=target_app_id, metadata=metadata)
        )

    async def take_thread_control(self, *, metadata: str | None = None) -> None:
        """Take this conversation back from the app that has it (the bot must be the Page's
        primary receiver). The bot's events stop being standby once it is done."""
        self._thread_call(thread_control("take_thread_control", metadata=metadata))

    async def request_thread_control(self, *, metadata: str | None = None) -> None:
        """Ask the primary receiver for this conversation (for a bot that is a secondary
        receiver); the owner decides, with a ``request_thread_control`` event."""
        self._thread_call(thread_control("request_thread_control", metadata=metadata))

    async def thread_owner(self) -> str | None:
        """The app id that owns this conversation now (a Graph read, made at once; a pass or
        take this handler queued has not happened yet)."""
        runtime = self._runtime
        token = await runtime.token_for(self.page_id)
        return await thread_owner(runtime.graph, token, self.psid)

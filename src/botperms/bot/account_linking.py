"""Messenger's ``account_linking`` webhooks: ``linked`` confirms the link our login flow
prepared (its authorization_code), ``unlinked`` ends the person's grant with a goodbye."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import structlog

from botperms.bot.chain import guarded
from botperms.bot.context import Context, Handler
from botperms.bot.prompts import Prompts
from botperms.bot.runtime import Runtime
from botperms.messenger import MessagingEvent, text_message
from botperms.store import Effect, Leave, LinkCodeRefused

log = structlog.get_logger(__name__)


class AccountLinkingEvents:
    """Handles ``account_linking`` webhook events for the ``Dispatcher``."""

    def __init__(self, runtime: Runtime, prompts: Prompts, clock: Callable[[], datetime]) -> None:
        self.runtime = runtime
        self.prompts = prompts
        self.clock = clock

    async def handle(
        self, event: MessagingEvent, page_id: str, psid: str, handlers: Sequence[Handler]
    ) -> list[Effect]:
        """What the event causes. ``handlers`` (``on_account_linking``) run here after an
        ``unlinked``; after a ``linked`` they run with the login outcome it queues."""
        linking = event.account_linking
        assert linking is not None
        if linking.status == "linked":
            await self._linked(page_id, psid, linking.authorization_code)
            return []
        if linking.status == "unlinked":
            return await self._unlinked(event, page_id, psid, handlers)
        log.info("account_linking.unknown_status", status=linking.status, psid=psid)
        return []

    async def _linked(self, page_id: str, psid: str, authorization_code: str | None) -> None:
        if not authorization_code:
            log.warning("account_linking.refused", reason="no_code", page_id=page_id, psid=psid)
            return
        try:
            # Its own transaction, ahead of the event's: a redelivered or retried `linked`
            # finds the code used and confirms nothing twice.
            grant = await self.runtime.store.confirm_link_and_announce(
                code=authorization_code, page_id=page_id, psid=psid, now=self.clock()
            )
        except LinkCodeRefused as exc:
            log.warning("account_linking.refused", reason=exc.reason, page_id=page_id, psid=psid)
            return
        log.info("account_linking.linked", page_id=page_id, psid=psid, grant_id=grant.id)

    async def _unlinked(
        self, event: MessagingEvent, page_id: str, psid: str, handlers: Sequence[Handler]
    ) -> list[Effect]:
        # The goodbye goes with the revocation (only if there was a grant to revoke).
        goodbye = text_message(self.prompts.unlinked)
        ctx = Context(self.runtime, page_id, psid, event, None)
        ctx.stage(Leave(page_id, psid, "unlinked", goodbye=goodbye))
        log.info("account_linking.unlinked", page_id=page_id, psid=psid)
        for handler in handlers:
            await guarded(handler(ctx), handler)
        return ctx.effects

"""Pending intents: the event a ``@requires`` handler could not run yet, kept until the person
has logged in, then replayed exactly once (or re-asked for, or given up on)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from botperms.bot.app import Bot
from botperms.bot.context import Context, Runtime
from botperms.bot.prompts import describe_permissions
from botperms.bot.requires import Requirement
from botperms.messenger import MessagingEvent
from botperms.store import NewInboxItem, PendingIntentRecord

log = structlog.get_logger(__name__)


def replay_key(intent: PendingIntentRecord) -> str:
    """The inbox key of an intent's replay: the same for the same intent, so queuing it twice
    (a redelivered login outcome, a retry after a crash) stores it once."""
    original = MessagingEvent.model_validate(intent.event).key()
    created = int(intent.created_at.timestamp() * 1000)
    digest = hashlib.sha256(original.encode()).hexdigest()[:32]
    return f"replay:{digest}:{created}"


class Intents:
    """Saves, resumes and replays pending intents for the ``Dispatcher``."""

    def __init__(
        self, bot: Bot, runtime: Runtime, clock: Callable[[], datetime], internal_field: str
    ) -> None:
        self.bot = bot
        self.runtime = runtime
        self.clock = clock
        self.internal_field = internal_field

    def _event_data(self, event: MessagingEvent) -> dict[str, Any]:
        return {k: v for k, v in event.as_dict().items() if k != self.internal_field}

    async def ask(self, ctx: Context, requirement: Requirement, *, text: str | None = None) -> None:
        """Keep ``ctx.event`` for later and send the login prompt for the missing scopes."""
        store = self.runtime.store
        if ctx.event is not None:
            ctx.pending_intent = await store.save_pending_intent(
                page_id=ctx.page_id,
                psid=ctx.psid,
                scopes=requirement.scopes,
                event=self._event_data(ctx.event),
                expires_at=self.clock() + self.bot.intent_ttl,
            )
        # Facebook does not show a scope the person declined again unless asked to re-request.
        declined_before = ctx.grant is not None and any(
            scope in ctx.grant.scopes_declined for scope in requirement.scopes
        )
        log.info(
            "intent.saved",
            page_id=ctx.page_id,
            psid=ctx.psid,
            scopes=list(requirement.scopes),
            rerequest=declined_before,
        )
        await ctx.send_login_prompt(
            text or requirement.prompt or self.bot.prompts.login,
            scopes=requirement.scopes,
            auth_type="rerequest" if declined_before else None,
        )

    async def resume(self, ctx: Context, intent: PendingIntentRecord) -> None:
        """After a login: replay the intent if its scopes are granted now, else re-ask for
        what was declined, up to ``Bot.max_reasks`` times, then drop it."""
        missing = tuple(scope for scope in intent.scopes if not ctx.has_scopes(scope))
        if not missing:
            await self.replay(ctx.page_id, ctx.psid)
            return
        store = self.runtime.store
        asks = await store.bump_pending_intent(ctx.page_id, ctx.psid)
        if asks == 0:
            return  # taken or dropped meanwhile
        if asks - 1 > self.bot.max_reasks:
            await store.drop_pending_intent(ctx.page_id, ctx.psid)
            log.info("intent.given_up", page_id=ctx.page_id, psid=ctx.psid, asks=asks - 1)
            await ctx.reply(self.bot.prompts.gave_up)
            return
        log.info("intent.reask", page_id=ctx.page_id, psid=ctx.psid, missing=list(missing))
        await ctx.send_login_prompt(
            self.bot.prompts.declined.format(permissions=describe_permissions(missing)),
            scopes=missing,
            auth_type="rerequest",
            button_title=self.bot.prompts.rerequest_button,
        )

    async def replay(self, page_id: str, psid: str) -> bool:
        """Take the person's intent and queue its event again, in one transaction: it runs
        once, after the event being handled now, or (if anything fails) stays waiting."""
        store = self.runtime.store
        async with store.db.session() as session:
            intent = await store.take_pending_intent(
                page_id, psid, now=self.clock(), session=session
            )
            if intent is None:
                return False
            payload = {**intent.event, self.internal_field: {"replay": list(intent.scopes)}}
            now = int(time.time() * 1000)
            item = NewInboxItem(
                event_key=replay_key(intent),
                page_id=page_id,
                psid=psid,
                kind="replay",
                payload=payload,
                event_time=now,
            )
            await store.inbox_add([item], session=session)
        log.info("intent.replayed", page_id=page_id, psid=psid, scopes=list(intent.scopes))
        self.runtime.wake_inbox()
        return True

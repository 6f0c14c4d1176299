"""Pending intents: the event a ``@requires`` handler could not run yet, kept until the person
has logged in, then replayed exactly once (or re-asked for, or given up on). Every change is an
effect of the event being handled, committed with it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from botperms.bot.app import Bot
from botperms.bot.context import Context
from botperms.bot.prompts import describe_permissions
from botperms.bot.requires import Requirement
from botperms.bot.runtime import Runtime
from botperms.config import INTERNAL_FIELD
from botperms.messenger import MessagingEvent
from botperms.store import (
    CountIntentAsk,
    DropIntent,
    PendingIntentRecord,
    ReplayIntent,
    SaveIntent,
)

log = structlog.get_logger(__name__)


class Intents:
    """Saves, resumes and replays pending intents for the ``Dispatcher``."""

    def __init__(self, bot: Bot, runtime: Runtime, clock: Callable[[], datetime]) -> None:
        self.bot = bot
        self.runtime = runtime
        self.clock = clock

    @staticmethod
    def _event_data(event: MessagingEvent) -> dict[str, Any]:
        return {k: v for k, v in event.as_dict().items() if k != INTERNAL_FIELD}

    async def ask(self, ctx: Context, requirement: Requirement, *, text: str | None = None) -> None:
        """Keep ``ctx.event`` for later and send the login prompt for the missing scopes."""
        if ctx.event is not None:
            now = self.clock()
            event = self._event_data(ctx.event)
            expires_at = now + self.bot.intent_ttl
            ctx.stage(SaveIntent(ctx.page_id, ctx.psid, requirement.scopes, event, expires_at))
            ctx.pending_intent = PendingIntentRecord(
                page_id=ctx.page_id,
                psid=ctx.psid,
                scopes=requirement.scopes,
                event=event,
                asks=1,
                created_at=now,
                expires_at=expires_at,
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
            # Taken and queued again in the commit: it runs once, after this event.
            ctx.stage(ReplayIntent(ctx.page_id, ctx.psid, self.clock()))
            log.info("intent.replayed", page_id=ctx.page_id, psid=ctx.psid)
            return
        asks = intent.asks + 1
        if asks - 1 > self.bot.max_reasks:
            ctx.stage(DropIntent(ctx.page_id, ctx.psid))
            log.info("intent.given_up", page_id=ctx.page_id, psid=ctx.psid, asks=asks - 1)
            await ctx.reply(self.bot.prompts.gave_up)
            return
        ctx.stage(CountIntentAsk(ctx.page_id, ctx.psid))
        log.info("intent.reask", page_id=ctx.page_id, psid=ctx.psid, missing=list(missing))
        await ctx.send_login_prompt(
            self.bot.prompts.declined.format(permissions=describe_permissions(missing)),
            scopes=missing,
            auth_type="rerequest",
            button_title=self.bot.prompts.rerequest_button,
        )

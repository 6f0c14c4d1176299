"""``Dispatcher``: runs a ``Bot`` against a ``Runtime``. Events come from the inbox (webhook
events and internal ones: login outcomes, replays); the bot's middleware runs around them, the
merged route table (``botperms.bot.table``) picks the handler, filters and ``@requires`` are
enforced here. What handling an event causes is returned as effects, which the worker commits
together with the event. Internal: a bot author never builds one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog
from pydantic import ValidationError

from botperms.bot.account_linking import AccountLinkingEvents
from botperms.bot.app import Bot
from botperms.bot.chain import blame, compose, first_passing, guarded, handler_name, owner_of
from botperms.bot.context import Context
from botperms.bot.intents import Intents
from botperms.bot.requires import Requirement, requirement_of
from botperms.bot.route import Next, Route
from botperms.bot.runtime import Runtime
from botperms.bot.standby import run_standby
from botperms.bot.table import Table, error_handlers, middleware_between
from botperms.config import INTERNAL_FIELD
from botperms.failures import FailureReason, failure_reason
from botperms.graph import InvalidTokenError
from botperms.messenger import MessagingEvent
from botperms.store import (
    DropIntent,
    Effect,
    ExpireGrant,
    GrantRecord,
    InboxItem,
)

__all__ = ["Dispatcher", "handler_name", "without_internal"]

log = structlog.get_logger(__name__)

_UNREAD = object()


def _now() -> datetime:
    return datetime.now(UTC)


def without_internal(event: MessagingEvent) -> MessagingEvent:
    """The event as Facebook sent it: our own bookkeeping field removed."""
    data = {key: value for key, value in event.as_dict().items() if key != INTERNAL_FIELD}
    return MessagingEvent.model_validate(data)


class Dispatcher:
    """Runs a ``Bot`` against a ``Runtime``: one inbox event in, its effects out."""

    def __init__(
        self,
        bot: Bot,
        runtime: Runtime,
        *,
        clock: Callable[[], datetime] = _now,
        failure_notice: bool = False,
    ) -> None:
        """``failure_notice``: when the bot has no ``on_error`` handler, tell the person in
        the chat that the bot failed on their message (the demo turns it on, so an author
        sees a dead letter without reading logs)."""
        self.bot = bot
        self.runtime = runtime
        self.clock = clock
        self.failure_notice = failure_notice
        self.intents = Intents(bot, runtime, clock)
        self.linking = AccountLinkingEvents(runtime, bot.prompts, clock)
        self._version = -1
        self._table = Table()
        self._outer: Next | None = None
        self._runners: dict[Route, Next] = {}

    def _refresh(self) -> Table:
        # One int comparison per event; the merge and the middleware chains are rebuilt only
        # when the bot's tree changed (tests register handlers after building a dispatcher).
        if self._version != self.bot._version:
            self._table = self.bot._merged_table()
            middleware = self.bot._middleware
            self._outer = compose(middleware, self._routed, self.bot) if middleware else None
            self._runners = {}
            self._version = self.bot._version
        return self._table

    async def context(
        self,
        page_id: str,
        psid: str,
        event: MessagingEvent | None,
        grant: GrantRecord | object | None = _UNREAD,
    ) -> Context:
        """A context with the person's active grant (read now unless the worker read it with
        the batch); an expired one is marked so and left out."""
        if grant is _UNREAD:
            grant = await self.runtime.store.active_grant(page_id, psid)
        assert grant is None or isinstance(grant, GrantRecord)
        ctx = Context(self.runtime, page_id, psid, event, grant)
        if grant is not None and grant.is_expired_at(self.clock()):
            # A lapsed token is no grant: handlers see "not logged in" and can ask again.
            ctx.stage(ExpireGrant(page_id, psid, "token_expired"))
            log.info("grant.expired", page_id=page_id, psid=psid)
            ctx.grant = None
        return ctx

    async def handle(
        self, item: InboxItem, *, grant: GrantRecord | object | None = _UNREAD
    ) -> list[Effect]:
        """Handle one inbox event; returns what it caused. An exception reaches the worker,
        which retries the event with nothing of this try kept."""
        try:
            event = MessagingEvent.model_validate(item.payload)
        except ValidationError:
            # Stored as Facebook sent it, but not in a shape we can type: kept, not handled.
            log.info("event.unreadable", kind=item.kind, item_id=item.id)
            return []
        internal = (event.model_extra or {}).get(INTERNAL_FIELD)
        replayed = False
        if isinstance(internal, dict):
            if "login" in internal:
                return await self._login_outcome(event, internal, grant)
            if "replay" not in internal:
                log.warning("event.unknown_internal", keys=sorted(internal))
                return []
            event, replayed = without_internal(event), True
        page_id, psid = event.page_id, event.psid
        table = self._refresh()
        if page_id is None or (psid is None and event.kind not in table.events):
            log.debug("event.ignored", kind=event.kind)
            return []
        if not await self.runtime.answers(page_id):
            # Not BOTPERMS_PAGE_ID and not added with `botperms pages add`: no token to answer.
            log.warning("event.foreign_page", page_id=page_id, kind=event.kind)
            return []
        if item.standby:
            # The thread belongs to another app: the bot may read, never answer by default.
            log.debug("event.standby", kind=event.kind, psid=psid)
            if not table.on_standby or psid is None:
                return []
            ctx = await self.context(page_id, psid, event, grant)
            await run_standby(table.on_standby, ctx)
            return ctx.effects
        if event.kind == "account_linking" and not replayed:
            assert psid is not None
            return await self.linking.handle(event, page_id, psid, table.on_account_linking)
        if self._outer is None:
            candidates = table.candidates(event)
            if not candidates:
                log.debug("event.ignored", kind=event.kind)
                return []
        ctx = await self._event_context(page_id, psid, event, grant)
        ctx.replayed = replayed
        if self._outer is not None:
            await self._outer(ctx)  # the bot's middleware, then _routed
        else:
            await self._dispatch(ctx, candidates)
        return ctx.effects

    async def _event_context(
        self, page_id: str, psid: str | None, event: MessagingEvent, grant: object
    ) -> Context:
        if psid is None:  # policy_enforcement, app_roles: the page's business, no person
            return Context(self.runtime, page_id, "", event, None)
        return await self.context(page_id, psid, event, grant)

    async def _routed(self, ctx: Context) -> None:
        """The end of the bot's middleware chain: route, then run what matched."""
        if ctx.event is None:
            return
        candidates = self._table.candidates(ctx.event)
        if not candidates:
            log.debug("event.ignored", kind=ctx.event.kind)
            return
        await self._dispatch(ctx, candidates)

    async def _dispatch(self, ctx: Context, candidates: list[Route]) -> None:
        route = await first_passing(candidates, ctx)
        if route is None:
            log.debug("event.filtered_out", kind=ctx.event.kind if ctx.event else None)
            return
        runner = self._runners.get(route)
        if runner is None:
            inner = middleware_between(self.bot, route.owner)
            runner = compose(inner, partial(self._run, route), route.owner)
            self._runners[route] = runner
        await runner(ctx)

    async def dead_lettered(self, item: InboxItem, error: BaseException) -> list[Effect]:
        """What the bot's ``on_error`` handlers send when ``item`` is given up on. Never
        raises: the dead letter is recorded whatever happens here."""
        self._refresh()
        handlers = error_handlers(owner_of(error) or self.bot)
        if item.standby or not (handlers or self.failure_notice):
            return []
        try:
            event = without_internal(MessagingEvent.model_validate(item.payload))
            if event.page_id is None or event.psid is None:
                return []
            ctx = Context(self.runtime, event.page_id, event.psid, event, None)
            if not handlers:
                kind = f"{type(error).__name__}: {error}"[:300]
                await ctx.reply(f"⚠️ The bot failed on this message ({kind}).")
            for handler in handlers:
                await handler(ctx, error)
        except Exception:
            log.exception("on_error.failed", item_id=item.id)
            return []
        return ctx.effects

    async def _run(self, route: Route, ctx: Context) -> None:
        handler = route.handler
        requirement = requirement_of(handler)
        if requirement is not None and not ctx.has_scopes(*requirement.scopes):
            await self.intents.ask(ctx, requirement)
            return
        staged = len(ctx.effects)
        try:
            await handler(ctx)
        except InvalidTokenError as exc:
            if requirement is None or ctx.grant is None:
                blame(exc, handler, route.owner)
                raise
            # What the handler queued before Facebook refused the token is dropped with it.
            del ctx.effects[staged:]
            await self._token_rejected(ctx, requirement)
        except Exception as exc:
            blame(exc, handler, route.owner)
            raise

    async def _token_rejected(self, ctx: Context, requirement: Requirement) -> None:
        # The handler needed the person's token and Facebook refused it (expired, password
        # changed, app removed): log in again, then the request is replayed.
        ctx.stage(ExpireGrant(ctx.page_id, ctx.psid, "token_invalid"))
        log.info("grant.token_rejected", page_id=ctx.page_id, psid=ctx.psid)
        ctx.grant = None
        await self.intents.ask(ctx, requirement, text=self.bot.prompts.expired)

    # -- login outcomes (queued by the flows, in the transaction that settled the login) ---
    async def _login_outcome(
        self, event: MessagingEvent, outcome: dict[str, Any], grant: GrantRecord | object | None
    ) -> list[Effect]:
        page_id, psid = event.page_id, event.psid
        if page_id is None or psid is None:
            return []
        # A login confirmed by account linking carries the `linked` event for its handlers.
        linked = without_internal(event) if event.account_linking is not None else None
        ctx = await self.context(page_id, psid, linked, grant)
        ctx.pending_intent = await self.runtime.store.pending_intent(
            page_id, psid, now=self.clock()
        )
        table = self._refresh()
        if outcome.get("login") != "succeeded":
            reason = failure_reason(str(outcome.get("reason", "")))
            for failure_handler in table.on_login_failed:
                await guarded(failure_handler(ctx, reason), failure_handler)
            if reason is FailureReason.ACCESS_DENIED and ctx.pending_intent is not None:
                # The person said no to the dialog: their request must not run hours later.
                ctx.stage(DropIntent(page_id, psid))
            return ctx.effects
        if ctx.grant is None:
            return ctx.effects  # revoked (or expired) before we got to it: nothing to announce
        requested = tuple(str(scope) for scope in outcome.get("requested", []))
        declined = tuple(scope for scope in requested if not ctx.grant.has_scopes(scope))
        if linked is not None:
            for linking_handler in table.on_account_linking:
                await guarded(linking_handler(ctx), linking_handler)
        for handler in table.on_login:
            await guarded(handler(ctx, declined), handler)
        if ctx.pending_intent is not None:
            await self.intents.resume(ctx, ctx.pending_intent)
        return ctx.effects

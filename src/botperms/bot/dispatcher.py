"""``Dispatcher``: runs a ``Bot`` against a ``Runtime``. Webhook events and login outcomes come
in through the inbox; handlers run with a ``Context``; ``@requires`` is enforced here."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.bot.app import INTERNAL_FIELD, Bot
from botperms.bot.context import Context, Handler, Runtime
from botperms.bot.intents import Intents
from botperms.bot.requires import Requirement, requirement_of
from botperms.graph import InvalidTokenError
from botperms.messenger import MessagingEvent, text_message
from botperms.store import GrantRecord, LinkCodeRefused, NewInboxItem

log = structlog.get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def without_internal(event: MessagingEvent) -> MessagingEvent:
    """The event as Facebook sent it: our own bookkeeping field removed."""
    data = {key: value for key, value in event.as_dict().items() if key != INTERNAL_FIELD}
    return MessagingEvent.model_validate(data)


class Dispatcher:
    """Runs a ``Bot`` against a ``Runtime``: webhook events in, login outcomes in.

    It is the flows layer's login listener too: ``login_succeeded``/``login_failed`` queue the
    outcome in the inbox as an event of the conversation, handled later in order.
    """

    def __init__(self, bot: Bot, runtime: Runtime, *, clock: Callable[[], datetime] = _now) -> None:
        self.bot = bot
        self.runtime = runtime
        self.clock = clock
        self.intents = Intents(bot, runtime, clock, INTERNAL_FIELD)

    async def context(self, page_id: str, psid: str, event: MessagingEvent | None) -> Context:
        """A context with the person's active grant (an expired one is marked so and left out)."""
        grant = await self.runtime.store.active_grant(page_id, psid)
        if grant is not None and grant.is_expired_at(self.clock()):
            # A lapsed token is no grant: handlers see "not logged in" and can ask again.
            await self.runtime.store.expire_grant(page_id, psid, reason="token_expired")
            log.info("grant.expired", page_id=page_id, psid=psid)
            grant = None
        return Context(self.runtime, page_id, psid, event, grant)

    async def handle(self, event: MessagingEvent) -> None:
        """Handle one event from the inbox. An exception reaches the inbox, which retries."""
        internal = (event.model_extra or {}).get(INTERNAL_FIELD)
        replayed = False
        if isinstance(internal, dict):
            if "login" in internal:
                await self._login_outcome(event, internal)
                return
            if "replay" not in internal:
                log.warning("event.unknown_internal", keys=sorted(internal))
                return
            event, replayed = without_internal(event), True
        page_id, psid = event.page_id, event.psid
        if page_id is None or psid is None:
            log.debug("event.ignored", kind=event.kind)
            return
        if event.kind == "account_linking" and not replayed:
            await self._account_linking(event, page_id, psid)
            return
        handler = self.bot.route(event)
        if handler is None:
            log.debug("event.ignored", kind=event.kind)
            return
        ctx = await self.context(page_id, psid, event)
        ctx.replayed = replayed
        await self._run(handler, ctx)

    async def _run(self, handler: Handler, ctx: Context) -> None:
        requirement = requirement_of(handler)
        if requirement is not None and not ctx.has_scopes(*requirement.scopes):
            await self.intents.ask(ctx, requirement)
            return
        try:
            await handler(ctx)
        except InvalidTokenError:
            if requirement is None or ctx.grant is None:
                raise
            await self._token_rejected(ctx, requirement)

    async def _token_rejected(self, ctx: Context, requirement: Requirement) -> None:
        # The handler needed the person's token and Facebook refused it (expired, password
        # changed, app removed): log in again, then the request is replayed.
        await self.runtime.store.expire_grant(ctx.page_id, ctx.psid, reason="token_invalid")
        log.info("grant.token_rejected", page_id=ctx.page_id, psid=ctx.psid)
        ctx.grant = None
        await self.intents.ask(ctx, requirement, text=self.bot.prompts.expired)

    # -- login outcomes (LoginListener, structural: the flows layer calls these) ----------
    # The outcome is queued in the inbox as an event of the conversation, not handled here:
    # the browser's page does not wait for the bot's Graph calls, the outcome survives a
    # restart and is retried like any event, and it is handled in order with the messages.
    async def login_succeeded(self, grant: GrantRecord, requested: tuple[str, ...]) -> None:
        """Queue the on-login path (handlers, then the waiting request) for ``grant``."""
        outcome = {"login": "succeeded", "requested": list(requested)}
        await self._queue(grant.page_id, grant.psid, f"login:{grant.id}", outcome)
        self.runtime.wake_inbox()

    async def login_failed(self, page_id: str, psid: str, reason: str) -> None:
        """Queue the ``on_login_failed`` handlers for this person."""
        outcome = {"login": "failed", "reason": str(reason)}
        await self._queue(page_id, psid, f"login-failed:{uuid.uuid4().hex}", outcome)
        self.runtime.wake_inbox()

    async def _queue(
        self,
        page_id: str,
        psid: str,
        key: str,
        outcome: dict[str, Any],
        *,
        fields: dict[str, Any] | None = None,
        session: AsyncSession | None = None,
    ) -> None:
        now = int(time.time() * 1000)
        payload = {
            "sender": {"id": psid},
            "recipient": {"id": page_id},
            "timestamp": now,
            **(fields or {}),
            INTERNAL_FIELD: outcome,
        }
        item = NewInboxItem(
            event_key=key, page_id=page_id, psid=psid, kind="login", payload=payload, event_time=now
        )
        await self.runtime.store.inbox_add([item], session=session)

    async def _login_outcome(self, event: MessagingEvent, outcome: dict[str, Any]) -> None:
        page_id, psid = event.page_id, event.psid
        if page_id is None or psid is None:
            return
        # A login confirmed by account linking carries the `linked` event for its handlers.
        linked = without_internal(event) if event.account_linking is not None else None
        ctx = await self.context(page_id, psid, linked)
        ctx.pending_intent = await self.runtime.store.pending_intent(
            page_id, psid, now=self.clock()
        )
        if outcome.get("login") != "succeeded":
            reason = str(outcome.get("reason", ""))
            for failure_handler in self.bot._on_login_failed:
                await failure_handler(ctx, reason)
            if reason == "access_denied" and ctx.pending_intent is not None:
                # The person said no to the dialog: their request must not run hours later.
                await self.runtime.store.drop_pending_intent(page_id, psid)
            return
        if ctx.grant is None:
            return  # revoked (or expired) before we got to it: nothing to announce
        requested = tuple(str(scope) for scope in outcome.get("requested", []))
        declined = tuple(scope for scope in requested if not ctx.grant.has_scopes(scope))
        if linked is not None:
            for linking_handler in self.bot._on_account_linking:
                await linking_handler(ctx)
        for handler in self.bot._on_login:
            await handler(ctx, declined)
        if ctx.pending_intent is not None:
            await self.intents.resume(ctx, ctx.pending_intent)

    # -- account linking webhooks ---------------------------------------------------------
    async def _account_linking(self, event: MessagingEvent, page_id: str, psid: str) -> None:
        linking = event.account_linking
        assert linking is not None
        if linking.status == "linked":
            await self._linked(page_id, psid, linking.authorization_code)
        elif linking.status == "unlinked":
            await self._unlinked(event, page_id, psid)
        else:
            log.info("account_linking.unknown_status", status=linking.status, psid=psid)

    async def _linked(self, page_id: str, psid: str, code: str | None) -> None:
        if not code:
            log.warning("account_linking.refused", reason="no_code", page_id=page_id, psid=psid)
            return
        store = self.runtime.store
        try:
            # The code is used up and the on-login path queued in one transaction: a crash in
            # between can neither lose the greeting nor, on redelivery, confirm twice.
            async with store.db.session() as session:
                grant = await store.confirm_link(
                    code=code, page_id=page_id, psid=psid, now=self.clock(), session=session
                )
                requested = [*grant.scopes_granted, *grant.scopes_declined]
                await self._queue(
                    page_id,
                    psid,
                    f"login:{grant.id}",
                    {"login": "succeeded", "requested": requested},
                    fields={"account_linking": {"status": "linked"}},
                    session=session,
                )
        except LinkCodeRefused as exc:
            log.warning("account_linking.refused", reason=exc.reason, page_id=page_id, psid=psid)
            return
        log.info("account_linking.linked", page_id=page_id, psid=psid, grant_id=grant.id)
        self.runtime.wake_inbox()

    async def _unlinked(self, event: MessagingEvent, page_id: str, psid: str) -> None:
        store = self.runtime.store
        async with store.db.session() as session:
            revoked = await store.revoke_grant(page_id, psid, reason="unlinked", session=session)
            cancelled = await store.cancel_attempts(
                page_id, psid, reason="unlinked", session=session
            )
            await store.drop_pending_intent(page_id, psid, session=session)
            if revoked is not None:
                # Queued with the revocation, so a crash cannot leave one without the other.
                goodbye = text_message(self.bot.prompts.unlinked)
                await store.outbox_add(page_id, psid, goodbye, session=session)
        log.info(
            "account_linking.unlinked",
            page_id=page_id,
            psid=psid,
            had_grant=revoked is not None,
            cancelled_logins=cancelled,
        )
        if revoked is not None:
            self.runtime.wake_outbox()
        ctx = Context(self.runtime, page_id, psid, event, None)
        for handler in self.bot._on_account_linking:
            await handler(ctx)

"""Finishing handled events: each event's effects commit in the same transaction that marks it
done, for a whole batch of events at once (batched completions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from botperms.store import sqlite_hot
from botperms.store.attempts import AttemptRepository
from botperms.store.base import clip, utcnow
from botperms.store.effects import (
    CountFunnel,
    CountIntentAsk,
    DropIntent,
    Effect,
    EventOutcome,
    ExpireGrant,
    Failed,
    Handled,
    Leave,
    QueueEvent,
    ReplayIntent,
    SaveIntent,
    Send,
)
from botperms.store.errors import StaleCompletion
from botperms.store.funnel import bump
from botperms.store.inbox import InboxRepository, replay_event
from botperms.store.intents import IntentRepository
from botperms.store.linking import LinkCodeRepository
from botperms.store.models import InboxEvent, conversation_group
from botperms.store.outbox import OutboxRepository


class CompletionRepository(
    LinkCodeRepository, AttemptRepository, IntentRepository, InboxRepository, OutboxRepository
):
    async def inbox_complete(
        self,
        outcomes: Sequence[EventOutcome],
        *,
        guarded: bool = False,
        session: AsyncSession | None = None,
    ) -> None:
        """Commit a batch of outcomes in one transaction: handled events become "done" with
        their effects, failed ones are rescheduled or dead-lettered with nothing kept.

        ``guarded`` (the distributed worker): the events are locked first, and if one is no
        longer pending the whole batch rolls back with :class:`StaleCompletion`, so a job
        run twice cannot commit its effects twice."""
        if not outcomes:
            return
        handled = [o for o in outcomes if isinstance(o, Handled)]
        failed = [o for o in outcomes if isinstance(o, Failed)]
        now = utcnow()
        if (
            session is None
            and not guarded
            and self._db.lane is not None
            and sqlite_hot.sends_only(outcomes)
        ):
            finished: list[Handled | Failed] = [
                *handled,
                *(o for o in failed if o.retry_at is None),
            ]
            queued = [
                (effect, conversation_group(effect.psid))
                for outcome in finished
                for effect in outcome.effects
                if isinstance(effect, Send)
            ]
            await self._db.lane.write(
                sqlite_hot.inbox_complete(
                    [o.item_id for o in handled],
                    queued,
                    failed,
                    now,
                    [clip(o.error) for o in failed],
                )
            )
            return
        table = cast(Table, InboxEvent.__table__)
        async with self._tx(session) as tx:
            marked = False
            if guarded and not failed:
                # The usual case, in one statement: mark them done only if still pending.
                marked = True
                ids = sorted({o.item_id for o in handled})
                result = await tx.execute(
                    update(table)
                    .where(table.c.id.in_(ids), table.c.status == "pending")
                    .values(status="done", processed_at=now, retry_at=None)
                    .returning(table.c.id)
                )
                found = len(result.all())
                if found != len(ids):
                    raise StaleCompletion(len(ids) - found)
            elif guarded:
                await self._lock_pending(tx, table, [o.item_id for o in outcomes])
            sends: list[Send] = []
            dead = [o for o in failed if o.retry_at is None]
            caused: list[Handled | Failed] = [*handled, *dead]
            for outcome in caused:
                for effect in outcome.effects:
                    if isinstance(effect, Send):
                        sends.append(effect)
                    else:
                        # Effects that change state write in order with the sends around them.
                        await self._outbox_insert(tx, sends)
                        sends = []
                        await self._apply(tx, effect)
            await self._outbox_insert(tx, sends)
            connection = await tx.connection()
            if handled and not marked:
                await connection.execute(
                    update(table)
                    .where(table.c.id.in_([o.item_id for o in handled]))
                    .values(status="done", processed_at=now, retry_at=None)
                )
            if failed:
                await connection.execute(
                    update(table)
                    .where(table.c.id == bindparam("b_id"))
                    .values(
                        status=bindparam("b_status"),
                        retry_at=bindparam("b_retry"),
                        last_error=bindparam("b_error"),
                        processed_at=bindparam("b_processed"),
                        attempts=table.c.attempts + 1,
                    ),
                    [
                        {
                            "b_id": o.item_id,
                            "b_status": "pending" if o.retry_at is not None else "failed",
                            "b_retry": o.retry_at,
                            "b_error": clip(o.error),
                            "b_processed": None if o.retry_at is not None else now,
                        }
                        for o in failed
                    ],
                )

    @staticmethod
    async def _lock_pending(tx: AsyncSession, table: Table, ids: list[int]) -> None:
        # FOR UPDATE waits for a concurrent completion of the same rows and then sees its
        # result (PostgreSQL re-reads them), so exactly one of two racing jobs commits.
        locked = await tx.execute(
            select(table.c.id)
            .where(table.c.id.in_(ids), table.c.status == "pending")
            .with_for_update()
        )
        found = len(locked.all())
        if found != len(set(ids)):
            raise StaleCompletion(len(set(ids)) - found)

    async def _apply(self, tx: AsyncSession, effect: Effect) -> None:
        if isinstance(effect, QueueEvent):
            await self.inbox_add([effect.item], session=tx)
        elif isinstance(effect, SaveIntent):
            await self.save_pending_intent(
                page_id=effect.page_id,
                psid=effect.psid,
                scopes=effect.scopes,
                event=effect.event,
                expires_at=effect.expires_at,
                session=tx,
            )
        elif isinstance(effect, CountFunnel):
            await bump(tx, [effect.step])
        elif isinstance(effect, CountIntentAsk):
            await self.bump_pending_intent(effect.page_id, effect.psid, session=tx)
        elif isinstance(effect, DropIntent):
            await self.drop_pending_intent(effect.page_id, effect.psid, session=tx)
        elif isinstance(effect, ReplayIntent):
            intent = await self.take_pending_intent(
                effect.page_id, effect.psid, now=effect.now, session=tx
            )
            if intent is not None:
                await self.inbox_add([replay_event(intent)], session=tx)
        elif isinstance(effect, ExpireGrant):
            await self.expire_grant(effect.page_id, effect.psid, reason=effect.reason, session=tx)
        elif isinstance(effect, Leave):
            revoked = await self.revoke_grant(
                effect.page_id, effect.psid, reason=effect.reason, session=tx
            )
            await self.cancel_attempts(
                effect.page_id, effect.psid, reason=effect.reason, session=tx
            )
            await self.drop_pending_intent(effect.page_id, effect.psid, session=tx)
            if revoked is not None and effect.goodbye is not None:
                await self._outbox_insert(tx, [Send(effect.page_id, effect.psid, effect.goodbye)])
        else:  # pragma: no cover - the union is closed; a new effect type must be added here
            raise TypeError(f"unknown effect {effect!r}")

"""The login funnel: how many logins reached each step, per day, flow and client kind.

A step is counted by bumping one row of ``login_funnel`` inside the transaction of the step
itself where there is one (the grant, the failure, the prompt's event), so a count is exactly as
durable as what it counts and every process shares it. The Prometheus counter of the same name
follows once that transaction has committed. Nothing here identifies a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from botperms.metrics import LOGIN_FUNNEL
from botperms.store.attempts import AttemptRepository
from botperms.store.base import utcnow
from botperms.store.models import LoginAttempt, LoginFunnel

# In funnel order. A login ends in one of granted, declined, cancelled or failed.
STEPS = (
    "prompt_sent",
    "link_opened",
    "dialog_reached",
    "granted",
    "declined",
    "cancelled",
    "failed",
    "back_in_messenger",
)
ENDINGS = ("granted", "declined", "cancelled", "failed")
FLOWS = ("web", "account_link")
# A prompt is counted before anyone opened it, so before its client kind is known.
UNKNOWN_CLIENT = "unknown"
_REASON_MAX = 64
_PENDING = "botperms_funnel_pending"


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """One login reaching ``step``. ``reason``: a failure's reason, or the scopes declined."""

    flow: str
    client_kind: str
    step: str
    reason: str = ""

    def __post_init__(self) -> None:
        if self.step not in STEPS:
            raise ValueError(f"unknown funnel step {self.step!r}")


@dataclass(frozen=True, slots=True)
class FunnelCount:
    flow: str
    client_kind: str
    step: str
    reason: str
    count: int


def _after_commit(session: Session) -> None:
    # A savepoint's release fires after_commit too; only the outer commit makes it count.
    if session.get_nested_transaction() is not None:
        return
    for step in session.info.pop(_PENDING, []):
        LOGIN_FUNNEL.labels(step.flow, step.client_kind, step.step, step.reason).inc()


def _after_rollback(session: Session) -> None:
    if session.get_nested_transaction() is None:
        session.info.pop(_PENDING, None)


async def bump(
    tx: AsyncSession, steps: Sequence[FunnelStep], *, now: datetime | None = None
) -> None:
    """Count ``steps`` in the caller's transaction (one upsert each)."""
    if not steps:
        return
    day = (now or utcnow()).date().isoformat()
    dialect = tx.get_bind().dialect.name
    table = LoginFunnel.__table__.c
    for step in steps:
        values = {
            "day": day,
            "flow": step.flow,
            "client_kind": step.client_kind,
            "step": step.step,
            "reason": step.reason[:_REASON_MAX],
            "count": 1,
        }
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(LoginFunnel)
        await tx.execute(
            insert.values(**values).on_conflict_do_update(
                index_elements=[table.day, table.flow, table.client_kind, table.step, table.reason],
                set_={"count": table.count + 1},
            )
        )
    sync = tx.sync_session
    if _PENDING not in sync.info:
        sync.info[_PENDING] = []
        if not event.contains(sync, "after_commit", _after_commit):
            event.listen(sync, "after_commit", _after_commit)
            event.listen(sync, "after_rollback", _after_rollback)
    sync.info[_PENDING].extend(steps)


class FunnelRepository(AttemptRepository):
    async def count_funnel(self, *steps: FunnelStep, session: AsyncSession | None = None) -> None:
        """Count steps that have no transaction of their own (a link opened, say)."""
        async with self._tx(session) as tx:
            await bump(tx, steps)

    async def start_attempt(self, *, funnel: FunnelStep, **attempt: Any) -> None:
        """``create_attempt`` and the "dialog_reached" count, in one transaction."""
        async with self._db.session() as tx:
            await self.create_attempt(**attempt, session=tx)
            await bump(tx, [funnel])

    async def funnel_counts(self, *, since: date | None = None) -> list[FunnelCount]:
        """Counts summed over the days from ``since`` (UTC) on; every day when None."""
        c = LoginFunnel.__table__.c
        query = select(c.flow, c.client_kind, c.step, c.reason, func.sum(c.count)).group_by(
            c.flow, c.client_kind, c.step, c.reason
        )
        if since is not None:
            query = query.where(c.day >= since.isoformat())
        async with self._db.read() as tx:
            rows = (await tx.execute(query)).all()
        return [
            FunnelCount(flow, kind, step, reason, int(n)) for flow, kind, step, reason, n in rows
        ]

    @staticmethod
    async def linked_client_kind(tx: AsyncSession, page_id: str, psid: str) -> str:
        """The client kind of the person's latest granted account-link login (Messenger's
        ``linked`` webhook, which ends that funnel, does not say)."""
        kind = await tx.scalar(
            select(LoginAttempt.client_kind)
            .where(
                LoginAttempt.page_id == page_id,
                LoginAttempt.psid == psid,
                LoginAttempt.flow == "account_link",
                LoginAttempt.outcome == "granted",
            )
            .order_by(LoginAttempt.created_at.desc())
            .limit(1)
        )
        return kind or UNKNOWN_CLIENT

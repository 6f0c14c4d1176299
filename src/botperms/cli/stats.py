"""``botperms stats``: the login funnel from the database, per flow and client kind, with the
share of logins that made it from each step to the next."""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from botperms.cli.common import console, load_settings
from botperms.store.funnel import ENDINGS, FLOWS, STEPS, UNKNOWN_CLIENT, FunnelCount

_SINCE = re.compile(r"^(\d{1,4})([dw])$")
CLIENTS = ("phone", "desktop", "messenger_app")
# Each step's share is of the step a login must have passed before it (None: no share).
BASE: dict[str, tuple[str, ...] | None] = {
    "prompt_sent": None,
    "link_opened": ("prompt_sent",),
    "dialog_reached": ("link_opened",),
    "granted": ("dialog_reached",),
    "declined": ("dialog_reached",),
    "cancelled": ("dialog_reached",),
    "failed": ("dialog_reached",),
    "back_in_messenger": ("granted", "declined"),
}
LABELS = {step: step.replace("_", " ") for step in STEPS}


def parse_since(raw: str, today: date) -> date:
    """``7d``, ``2w`` or a day (``2026-11-01``) → the first day counted (UTC)."""
    match = _SINCE.match(raw.strip().lower())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        days = amount * (7 if unit == "w" else 1)
        # "1d" is today alone: the day that is still running.
        return today - timedelta(days=max(days - 1, 0))
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{raw!r} is not a period: use 7d, 2w or a day such as 2026-11-01"
        ) from None


Counts = dict[str, dict[str, dict[str, int]]]  # flow → client kind → step → count


def tally(rows: list[FunnelCount]) -> tuple[Counts, list[FunnelCount]]:
    """Counts per flow, client kind and step (reasons summed), and the rows with a reason."""
    counts: Counts = {flow: defaultdict(lambda: defaultdict(int)) for flow in FLOWS}
    reasons: list[FunnelCount] = []
    for row in rows:
        counts.setdefault(row.flow, defaultdict(lambda: defaultdict(int)))
        counts[row.flow][row.client_kind][row.step] += row.count
        if row.reason:
            reasons.append(row)
    reasons.sort(key=lambda r: (r.flow, r.step, -r.count, r.client_kind, r.reason))
    return counts, reasons


def _total(by_client: dict[str, dict[str, int]], step: str, client: str | None) -> int:
    if client is not None:
        return by_client.get(client, {}).get(step, 0)
    return sum(steps.get(step, 0) for steps in by_client.values())


def share(by_client: dict[str, dict[str, int]], step: str, client: str | None) -> float | None:
    """This step's count as a share of the step before it, or None when there is no base."""
    base_steps = BASE[step]
    if base_steps is None or (client is not None and "prompt_sent" in base_steps):
        return None  # a prompt has no client kind yet: its share is only known overall
    base = sum(_total(by_client, s, client) for s in base_steps)
    return None if base == 0 else _total(by_client, step, client) / base


def _cell(by_client: dict[str, dict[str, int]], step: str, client: str | None) -> str:
    count = _total(by_client, step, client)
    ratio = share(by_client, step, client)
    if count == 0 and ratio is None:
        return "" if client is not None and step == "prompt_sent" else "0"
    return f"{count}" if ratio is None else f"{count} ({ratio:.0%})"


def _flow_table(flow: str, by_client: dict[str, dict[str, int]], since: date) -> Table:
    clients = [c for c in CLIENTS if c in by_client] or list(CLIENTS)
    clients += sorted(c for c in by_client if c not in CLIENTS and c != UNKNOWN_CLIENT)
    table = Table(title=f"{flow} flow since {since.isoformat()}")
    table.add_column("step")
    for client in clients:
        table.add_column(client.replace("_", " "), justify="right")
    table.add_column("all", justify="right", style="bold")
    for step in STEPS:
        if step == "cancelled":
            table.add_section()
        table.add_row(
            LABELS[step],
            *(_cell(by_client, step, client) for client in clients),
            _cell(by_client, step, None),
        )
    return table


def _reasons_table(reasons: list[FunnelCount]) -> Table:
    table = Table(title="Why logins did not finish (declined: the scopes left out)")
    for column in ("flow", "client", "step", "reason", "count"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for row in reasons:
        table.add_row(row.flow, row.client_kind, row.step, row.reason, str(row.count))
    return table


def as_document(counts: Counts, reasons: list[FunnelCount], since: date) -> dict[str, Any]:
    flows: dict[str, Any] = {}
    for flow, by_client in counts.items():
        flows[flow] = {
            "clients": {
                client: {step: steps.get(step, 0) for step in STEPS}
                for client, steps in sorted(by_client.items())
            },
            "all": {step: _total(by_client, step, None) for step in STEPS},
            "conversion": {
                step: None if (ratio := share(by_client, step, None)) is None else round(ratio, 4)
                for step in STEPS
            },
        }
    return {
        "since": since.isoformat(),
        "steps": list(STEPS),
        "endings": list(ENDINGS),
        "flows": flows,
        "reasons": [
            {
                "flow": r.flow,
                "client_kind": r.client_kind,
                "step": r.step,
                "reason": r.reason,
                "count": r.count,
            }
            for r in reasons
        ],
    }


def stats(
    since: Annotated[
        str,
        typer.Option(help="How far back: 7d (the last seven days, today included), 2w, or a day."),
    ] = "7d",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for scripts.")] = False,
) -> None:
    """The login funnel: prompts sent, links opened, Login dialogs reached, logins granted,
    declined, cancelled or failed (by reason) and people back in Messenger, per flow (web,
    account_link) and client kind (phone, desktop, Messenger's in-app browser).

    Counts come from the database, so they cover every process and survive restarts; they
    say how many, never who. A percentage is the share of the step before it.
    """
    first_day = parse_since(since, datetime.now(UTC).date())
    from botperms.store import Database, Store, StoreError, TokenCipher

    settings = load_settings()

    async def read() -> list[FunnelCount]:
        database = Database(settings.database_url)
        try:
            await database.migrate()
            store = Store(
                database, TokenCipher([k.get_secret_value() for k in settings.token_keys])
            )
            return await store.funnel_counts(since=first_day)
        finally:
            await database.dispose()

    try:
        rows = asyncio.run(read())
    except StoreError as exc:
        console.print(f"[bold red]The database is unavailable:[/] {exc}")
        raise typer.Exit(2) from None
    counts, reasons = tally(rows)
    if as_json:
        typer.echo(json.dumps(as_document(counts, reasons, first_day)))
        return
    out = Console()
    for flow, by_client in counts.items():
        if by_client:  # a flow the bot does not use stays out of the way
            out.print(_flow_table(flow, by_client, first_day))
    if reasons:
        out.print(_reasons_table(reasons))
    if not rows:
        console.print("No logins counted in that period yet.")

"""``botperms outbox`` and ``botperms inbox``: what is waiting, what was given up on, and
sending dead letters again once their cause is fixed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from botperms.cli.common import console, load_settings

outbox_app = typer.Typer(
    help="Messages to send: list, retry dead letters, drop.", no_args_is_help=True
)
inbox_app = typer.Typer(help="Events received: list what waits or failed.", no_args_is_help=True)

T = TypeVar("T")
# Messenger's standard messaging window (contract §2.2).
WINDOW = timedelta(hours=24)

Status = Annotated[str | None, typer.Option(help="Only this status (e.g. dead, pending, sending).")]
Page = Annotated[str | None, typer.Option(help="Only this page id.")]
Psid = Annotated[str | None, typer.Option(help="Only this person (PSID).")]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON array, for scripts.")]


def _with_store(work: Callable[[Any], Awaitable[T]]) -> T:
    from botperms.store import Database, Store, StoreError, TokenCipher

    settings = load_settings()

    async def run() -> T:
        database = Database(settings.database_url)
        try:
            await database.migrate()
            store = Store(
                database, TokenCipher([k.get_secret_value() for k in settings.token_keys])
            )
            return await work(store)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except StoreError as exc:
        console.print(f"[bold red]The database is unavailable:[/] {exc}")
        raise typer.Exit(1) from None


def _print(rows: list[dict[str, Any]], columns: list[str], title: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, default=str))
        return
    table = Table(title=f"{title} ({len(rows)})")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[column] if row[column] is not None else "") for column in columns))
    Console().print(table)


def _summary(payload: dict[str, Any]) -> str:
    text = payload.get("text") or payload.get("sender_action")
    if text is None and "attachment" in payload:
        text = f"[{payload['attachment'].get('type', 'attachment')}]"
    return str(text or "")[:40]


@outbox_app.command("list")
def outbox_list(
    status: Status = None, page: Page = None, psid: Psid = None, as_json: AsJson = False
) -> None:
    """Queued messages, oldest first, with their attempts and last error."""
    items = _with_store(lambda store: store.outbox_list(status=status))
    rows = [
        {
            "id": item.id,
            "status": item.status,
            "page": item.page_id,
            "psid": item.psid,
            "attempts": item.attempts,
            "message": _summary(item.payload),
            "last_error": (item.last_error or "")[:60],
        }
        for item in items
        if (page is None or item.page_id == page) and (psid is None or item.psid == psid)
    ]
    columns = ["id", "status", "page", "psid", "attempts", "message", "last_error"]
    _print(rows, columns, "outbox", as_json)


@outbox_app.command("retry")
def outbox_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letters to send again.")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Every dead letter.")] = False,
    since: Annotated[
        float | None, typer.Option(help="With --all-dead: only those queued in the last N hours.")
    ] = None,
) -> None:
    """Send dead letters again (after fixing the page token, say). A message outside the
    24-hour window is not sent, and says why. Exit code 1 when any could not be requeued."""
    if not ids and not all_dead:
        console.print("[bold red]Name message ids, or --all-dead.[/]")
        raise typer.Exit(2)
    now = datetime.now(UTC)

    async def work(store: Any) -> dict[int, str]:
        wanted = list(ids or [])
        if all_dead:
            cutoff = now - timedelta(hours=since) if since is not None else None
            for item in await store.outbox_list(status="dead"):
                if cutoff is None or (item.created_at is not None and item.created_at >= cutoff):
                    wanted.append(item.id)
        results: dict[int, str] = await store.outbox_requeue(wanted, now=now, window=WINDOW)
        return results

    results = _with_store(work)
    for item_id, outcome in results.items():
        colour = "green" if outcome == "requeued" else "yellow"
        console.print(f"  {item_id}: [{colour}]{outcome}[/]")
    requeued = sum(outcome == "requeued" for outcome in results.values())
    console.print(f"{requeued} of {len(results)} requeued; a running botperms sends them.")
    if requeued != len(results):
        raise typer.Exit(1)


@outbox_app.command("drop")
def outbox_drop(
    ids: Annotated[list[int], typer.Argument(help="Messages to forget (pending or dead).")],
) -> None:
    """Forget messages for good (not one being sent right now)."""
    dropped = _with_store(lambda store: store.outbox_drop(ids))
    console.print(f"{dropped} of {len(ids)} dropped.")


@inbox_app.command("list")
def inbox_list(
    status: Status = None, page: Page = None, psid: Psid = None, as_json: AsJson = False
) -> None:
    """Received events, oldest first; ``--status failed`` lists the dead letters."""
    items = _with_store(lambda store: store.inbox_list(status=status, limit=10_000))
    rows = [
        {
            "id": item.id,
            "status": item.status,
            "kind": item.kind + (" (standby)" if item.standby else ""),
            "page": item.page_id,
            "psid": item.psid,
            "attempts": item.attempts,
            "last_error": (item.last_error or "")[:60],
        }
        for item in items
        if (page is None or item.page_id == page) and (psid is None or item.psid == psid)
    ]
    _print(
        rows, ["id", "status", "kind", "page", "psid", "attempts", "last_error"], "inbox", as_json
    )

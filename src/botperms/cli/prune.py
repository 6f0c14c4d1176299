"""``botperms db prune``: the workers' housekeeping, run once by hand, with a summary."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from botperms.cli.common import console, load_settings
from botperms.store.housekeeping import BATCH_SIZE

# What each kind is, for people reading the summary.
KIND_NAMES = {
    "login_attempts": "login attempts past their ticket's life",
    "link_codes": "expired account-linking codes",
    "pending_grants": "pending grants never confirmed",
    "intents": "expired pending intents",
    "profiles": "profile-cache rows past their TTL",
    "inbox_done": "handled inbox events",
    "inbox_dead": "dead inbox events",
    "outbox_sent": "sent messages",
    "outbox_dead": "dead messages",
}


def db_prune(
    batch_size: Annotated[
        int, typer.Option(min=1, help="Rows removed per transaction (keeps SQLite's lock short).")
    ] = BATCH_SIZE,
) -> None:
    """Remove what the retention settings no longer keep, once, and show what went.

    A running botperms does this every BOTPERMS_HOUSEKEEPING_INTERVAL_SECONDS; this is the
    same pass, by hand. Retention: BOTPERMS_RETENTION_DAYS (handled events, sent messages),
    BOTPERMS_DEAD_RETENTION_DAYS (dead letters), BOTPERMS_EXPIRED_GRACE_HOURS (expired logins,
    link codes, intents) and BOTPERMS_PROFILE_TTL_SECONDS (the profile cache).
    """
    from botperms.logs import configure
    from botperms.store import PRUNE_KINDS, Database, Store, StoreError, TokenCipher
    from botperms.worker.housekeeping import Housekeeper, retention_from

    settings = load_settings()
    # The summary below says what went; the pass's own log line would only repeat it.
    configure("WARNING")

    async def run() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        database = Database(settings.database_url)
        try:
            await database.migrate()
            store = Store(
                database, TokenCipher([k.get_secret_value() for k in settings.token_keys])
            )
            before = await store.table_sizes()
            keeper = Housekeeper(store, retention_from(settings), batch_size=batch_size)
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("Pruning", total=len(PRUNE_KINDS))
                removed = await keeper.run_once(on_kind=lambda _kind, _n: progress.advance(task))
            return before, removed, await store.table_sizes()
        finally:
            await database.dispose()

    try:
        before, removed, after = asyncio.run(run())
    except StoreError as exc:
        console.print(f"[bold red]The database is unavailable:[/] {exc}")
        raise typer.Exit(1) from None
    out = Console()
    kinds = Table(title=f"Removed ({sum(removed.values())} rows)")
    kinds.add_column("kind")
    kinds.add_column("what")
    kinds.add_column("removed", justify="right")
    for kind, count in removed.items():
        kinds.add_row(kind, KIND_NAMES.get(kind, ""), str(count))
    out.print(kinds)
    tables = Table(title="Rows per table")
    tables.add_column("table")
    tables.add_column("before", justify="right")
    tables.add_column("after", justify="right")
    for name, count in before.items():
        tables.add_row(name, str(count), str(after.get(name, 0)))
    out.print(tables)

"""``botperms db`` and ``botperms tokens``: the database and the tokens stored in it."""

from __future__ import annotations

import asyncio

import typer

from botperms.cli.common import console, load_settings
from botperms.cli.prune import db_prune

db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
db_app.command("prune")(db_prune)
tokens_app = typer.Typer(help="Stored token commands.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration (serve does this on start too)."""
    from botperms.store import Database

    settings = load_settings()

    async def run() -> None:
        database = Database(settings.database_url)
        try:
            await database.migrate()
        finally:
            await database.dispose()

    asyncio.run(run())
    console.print("[green]Database is up to date.[/]")


@tokens_app.command("rotate")
def tokens_rotate() -> None:
    """Re-encrypt every stored token under the first key of BOTPERMS_TOKEN_KEYS.

    Put a new key (botperms keygen) first in BOTPERMS_TOKEN_KEYS, run this, then remove the
    old keys from the list.
    """
    from botperms.store import Database, Store, StoreError, TokenCipher, TokenDecryptError

    settings = load_settings()

    async def run() -> int:
        database = Database(settings.database_url)
        cipher = TokenCipher([key.get_secret_value() for key in settings.token_keys])
        try:
            await database.migrate()
            return await Store(database, cipher).reencrypt_tokens()
        finally:
            await database.dispose()

    try:
        with console.status("Re-encrypting stored tokens…"):
            count = asyncio.run(run())
    except TokenDecryptError:
        console.print(
            "[bold red]A stored token matches none of BOTPERMS_TOKEN_KEYS.[/] Keep the "
            "old key in the list (after the new one) until rotation is done."
        )
        raise typer.Exit(1) from None
    except StoreError as exc:
        console.print(f"[bold red]The database is unavailable:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"[green]Re-encrypted {count} stored secret(s) under the first key.[/]")

"""``botperms``: serve the bot, run the offline demo, make keys, migrate the database."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from botperms.config import LoginFlow, Settings, describe_error
from botperms.profile_cmd import profile_app

app = typer.Typer(
    help="botperms: Facebook permissions for Messenger bots.\n\n"
    "Settings come from BOTPERMS_* environment variables or a .env file "
    "(see docs/configuration.md).",
    no_args_is_help=True,
    add_completion=False,
    # Markdown: docstring paragraphs are re-flowed to the terminal, not broken where the
    # source lines end.
    rich_markup_mode="markdown",
)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
tokens_app = typer.Typer(help="Stored token commands.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
app.add_typer(profile_app, name="profile")
console = Console(stderr=True)


def load_settings() -> Settings:
    """Settings from the environment, or one readable line per problem and exit code 2."""
    try:
        return Settings()  # filled from the environment
    except ValidationError as exc:
        console.print("[bold red]botperms cannot start: the configuration is incomplete.[/]")
        console.print(describe_error(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def load_bot(target: str | None) -> object:
    """``module:attribute`` → the Bot object (as uvicorn takes an app)."""
    if not target:
        from botperms.examples.likes_bot import bot

        return bot
    module_name, _, attribute = target.partition(":")
    # As with uvicorn, the bot author's module is found in the folder botperms runs from (a
    # console script's sys.path does not include it).
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute or "bot")
    except (ImportError, AttributeError) as exc:
        console.print(f"[bold red]Cannot load bot {target!r}:[/] {exc}")
        raise typer.Exit(2) from None


@app.command()
def serve(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="[MODULE:ATTRIBUTE]",
            help="Your Bot, e.g. mybot:bot. Without it, the example likes bot runs.",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Bind socket to this host.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Bind socket to this port.")] = 8000,
    log_level: Annotated[
        str | None, typer.Option(help="Log level (default from settings).")
    ] = None,
) -> None:
    """Run the webhook, the login pages and the workers in one process."""
    import uvicorn

    from botperms.bot import Bot
    from botperms.logs import configure
    from botperms.web import create_app

    settings = load_settings()
    configure(log_level or settings.log_level)
    bot = load_bot(target)
    if not isinstance(bot, Bot):
        console.print(f"[bold red]{target!r} is not a botperms Bot[/]")
        raise typer.Exit(2)
    uvicorn.run(
        create_app(settings, bot),
        host=host,
        port=port,
        log_level=(log_level or settings.log_level).lower(),
        proxy_headers=True,
        # Ours (botperms.web.access_log) leaves out query strings, which carry tickets and codes.
        access_log=False,
    )


@app.command()
def demo(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="[MODULE:ATTRIBUTE]",
            help="Your Bot, e.g. bot:bot (from the current folder). Without it, the example "
            "likes bot runs.",
        ),
    ] = None,
    flow: Annotated[
        LoginFlow,
        typer.Option(help="How people log in: a web login link, or Messenger's account linking."),
    ] = LoginFlow.WEB,
    profile: Annotated[
        Path | None,
        typer.Option(
            help="Messenger Profile file applied to the demo page at start. Default: the "
            "example bot's, or ./messenger_profile.toml for your own bot when it exists.",
            dir_okay=False,
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port for the bot.")] = 8000,
    fakebook_port: Annotated[int, typer.Option(help="Port for fakebook.")] = 8001,
    data_dir: Annotated[str, typer.Option(help="Folder for the SQLite file and demo secrets.")] = (
        "data/demo"
    ),
) -> None:
    """Run a bot against fakebook on 127.0.0.1: no Facebook account, no network.

    fakebook (a local stand-in for Facebook, with a Messenger chat simulator) and the bot start
    together, wired to each other; the Messenger Profile file is applied to the demo page.
    """
    from botperms.bot import Bot
    from botperms.demo import EXAMPLE_PROFILE, prepare, run_demo

    bot = load_bot(target)
    if not isinstance(bot, Bot):
        console.print(f"[bold red]{target!r} is not a botperms Bot[/]")
        raise typer.Exit(2)
    if profile is None:
        local = Path("messenger_profile.toml")
        profile = EXAMPLE_PROFILE if target is None else (local if local.exists() else None)
    try:
        # The demo page is named after your bot (Bot(name=...)), the example's "Likes Bot".
        page_name = "Likes Bot" if target is None else bot.name.replace("_", " ").title()
        settings, config_path = prepare(port, fakebook_port, data_dir, flow, page_name)
        code = asyncio.run(run_demo(settings, config_path, fakebook_port, bot, profile))
    except KeyboardInterrupt:
        code = 0  # Ctrl-C is how a demo ends; both servers are already down
    except RuntimeError as exc:  # a port in use, or fakebook did not come up
        console.print(f"[bold red]The demo could not start:[/] {exc}")
        code = 1
    sys.exit(code)


@app.command()
def new(
    name: Annotated[
        Path,
        typer.Argument(
            metavar="NAME", help="Folder for the new project (created; must be new or empty)."
        ),
    ],
) -> None:
    """Start a bot project of your own in a new folder.

    It gets bot.py (handlers), messenger_profile.toml (Get Started, greeting, menu),
    .env.example (settings for fakebook) and a README that says how to run it on your machine.
    """
    from botperms.scaffold import ScaffoldError, create_project

    try:
        written = create_project(name)
    except (ScaffoldError, OSError) as exc:
        console.print(f"[bold red]Cannot create the project:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    for path in written:
        console.print(f"  created {escape(str(path))}")
    console.print(
        f"[green]Your bot is in {escape(str(name))}/.[/] Next: cd {escape(str(name))} and "
        "follow README.md (it runs against fakebook, no Facebook account needed)."
    )


@app.command()
def keygen() -> None:
    """Print a new Fernet key for BOTPERMS_TOKEN_KEYS (put it first to rotate)."""
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())


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


def main() -> None:
    app()


if __name__ == "__main__":
    main()

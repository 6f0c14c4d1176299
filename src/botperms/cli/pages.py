"""``botperms pages``: the pages one bot answers for, beside the settings' one page.

``add`` checks a page token with Graph ``/me`` (a page token's ``/me`` is its page), subscribes
the app to the page's webhooks and stores the page with its token encrypted; ``list`` shows
them; ``remove`` unsubscribes the app and forgets the page. Running processes pick a change up
within ``PageDirectory``'s refresh (seconds), with no restart.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from botperms.cli.common import console, load_settings
from botperms.config import Settings

pages_app = typer.Typer(
    help="The pages this bot answers for: add (checks the token and subscribes the app),"
    " list, remove. BOTPERMS_PAGE_ID / BOTPERMS_PAGE_TOKEN stay the one-page shortcut.",
    no_args_is_help=True,
)

T = TypeVar("T")
EXIT_FACEBOOK = 3

TOKEN_HELP = (
    "The page access token. Leave it out to be asked for it (hidden input), or pipe it in:"
    " `botperms pages add < token.txt`, so it stays out of the shell history."
)


def _run(settings: Settings, work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run ``work(store, graph)``; a database or Graph failure is one readable line."""
    from botperms.graph import GraphClient, GraphError
    from botperms.store import Database, Store, StoreError, TokenCipher

    async def run() -> T:
        database = Database(settings.database_url)
        graph = GraphClient.from_settings(settings)
        try:
            await database.migrate()
            cipher = TokenCipher([key.get_secret_value() for key in settings.token_keys])
            return await work(Store(database, cipher), graph)
        finally:
            await graph.aclose()
            await database.dispose()

    try:
        return asyncio.run(run())
    except GraphError as exc:
        console.print(f"[bold red]Facebook refused:[/] {escape(_graph_line(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_FACEBOOK) from None
    except StoreError as exc:
        console.print(f"[bold red]The database is unavailable:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None


def _graph_line(exc: Exception) -> str:
    from botperms.graph import GraphError, InvalidTokenError

    if isinstance(exc, InvalidTokenError):
        return f"the page token is not valid (code {exc.code}): {exc.message}"
    if isinstance(exc, GraphError):
        return f"{exc.message} (code {exc.code})" if exc.code is not None else exc.message
    return str(exc)


@pages_app.command("add")
def add(
    page_token: Annotated[
        str,
        typer.Option("--page-token", prompt="Page access token", hide_input=True, help=TOKEN_HELP),
    ],
) -> None:
    """Add a page (or replace its token): check the token with Graph /me, subscribe the app
    to the page's webhooks, store the page with its token encrypted."""
    from botperms.graph.pages import WEBHOOK_FIELDS, page_identity, subscribe_app

    token = page_token.strip()
    if not token:
        console.print("[bold red]No page token given.[/]")
        raise typer.Exit(2)
    settings = load_settings()

    async def work(store: Any, graph: Any) -> Any:
        page = await page_identity(graph, token)
        await subscribe_app(graph, page.id, token, WEBHOOK_FIELDS)
        return await store.page_save(page.id, page.name, token, WEBHOOK_FIELDS)

    saved = _run(settings, work)
    Console().print(
        f"Added page [bold]{escape(saved.name)}[/] ({saved.page_id}), subscribed to"
        f" {len(saved.subscribed_fields)} webhook fields."
    )


@pages_app.command("list")
def list_pages(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, for scripts.")] = False,
) -> None:
    """The pages this bot answers for (page tokens are never shown)."""
    settings = load_settings()

    async def work(store: Any, _graph: Any) -> Any:
        return await store.page_list()

    stored = _run(settings, work)
    rows: list[dict[str, Any]] = [
        {
            "page_id": page.page_id,
            "name": page.name,
            "source": "pages table",
            "subscribed_fields": list(page.subscribed_fields),
            "updated_at": page.updated_at.isoformat(timespec="seconds"),
        }
        for page in stored
    ]
    if settings.page_id not in {row["page_id"] for row in rows}:
        shortcut = {"page_id": settings.page_id, "name": None, "source": "BOTPERMS_PAGE_ID"}
        rows.insert(0, {**shortcut, "subscribed_fields": None, "updated_at": None})
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table(title=f"Pages ({len(rows)})")
    for column in ("page id", "name", "from", "webhook fields", "updated"):
        table.add_column(column)
    for row in rows:
        fields = row["subscribed_fields"]
        table.add_row(
            row["page_id"],
            row["name"] or "",
            row["source"],
            "" if fields is None else str(len(fields)),
            row["updated_at"] or "",
        )
    Console().print(table)


@pages_app.command("remove")
def remove(
    page_id: Annotated[str, typer.Argument(help="The page's id (see `botperms pages list`).")],
) -> None:
    """Unsubscribe the app from the page's webhooks and forget the page and its token."""
    from botperms.graph import GraphError
    from botperms.graph.pages import unsubscribe_app

    settings = load_settings()

    async def work(store: Any, graph: Any) -> tuple[bool, str | None]:
        page = await store.page_get(page_id)
        if page is None:
            return False, None
        problem = None
        try:
            await unsubscribe_app(graph, page_id, page.access_token)
        except GraphError as exc:
            # A dead token cannot unsubscribe; the page is forgotten anyway, and Facebook's
            # deliveries for it are then stored but not answered.
            problem = _graph_line(exc)
        await store.page_remove(page_id)
        return True, problem

    removed, problem = _run(settings, work)
    if not removed:
        hint = " (it comes from BOTPERMS_PAGE_ID)" if page_id == settings.page_id else ""
        console.print(f"[bold red]No stored page {escape(page_id)}{hint}.[/]")
        raise typer.Exit(1)
    if problem is not None:
        console.print(f"[yellow]The app could not be unsubscribed:[/] {escape(problem)}")
    Console().print(f"Removed page {escape(page_id)}.")

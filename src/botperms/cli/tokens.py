"""``botperms tokens check``: ask Facebook about every stored user token, mark the dead ones,
list those about to run out, and (``--notify``) offer those people a fresh login once."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from botperms.cli.common import console, load_settings
from botperms.config import Settings
from botperms.graph import GraphClient, GraphError, InvalidTokenError, TokenInfo, debug_token
from botperms.store.token_health import TokenCheck, TokenHealthRecord

if TYPE_CHECKING:
    from botperms.flows.ticket_refs import LoginLinkReferences
    from botperms.store import Store

# Messenger's standard messaging window (contract §2.2): a reply outside it needs a tag.
WINDOW = timedelta(hours=24)
# Facebook's subcode for a token that lapsed (the others mean it was invalidated).
SUBCODE_EXPIRED = 463
# debug_token calls in flight at once: fast for thousands of tokens, gentle on rate limits.
CONCURRENCY = 8
NOTICE = (
    "Your Facebook login for this chat runs out on {day}. Log in again to keep what you "
    "shared with us working."
)
NOTICE_BUTTON = "Log in again"


@dataclass
class Checked:
    """One grant's result. ``state``: ok, expiring, expired, invalid or unchecked."""

    grant_id: int
    page_id: str
    psid: str
    state: str
    expires_at: str | None
    data_access_expires_at: str | None
    detail: str = ""
    ends_on: str | None = None  # expiring: the day access ends
    notified: str = ""


class ConfigProblem(Exception):
    """Facebook refused the app itself (app id or secret): no token can be checked."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def _verdict(info: TokenInfo, now: datetime) -> tuple[TokenCheck, str]:
    """What debug_token's answer means for the grant, and why, in a few words."""
    if info.is_valid and info.type == "USER":
        return "valid", ""
    lapsed = info.expires_at is not None and info.expires_at <= now
    if info.error_subcode == SUBCODE_EXPIRED or lapsed:
        return "expired", "debug_token: the token expired"
    why = {458: "the person removed the app", 460: "the person's session was invalidated"}
    return "invalid", "debug_token: " + why.get(info.error_subcode or 0, "the token is not valid")


def _runs_out(info: TokenInfo) -> datetime | None:
    """The earlier of the token's expiry and its data access expiry."""
    ends = [when for when in (info.expires_at, info.data_access_expires_at) if when is not None]
    return min(ends) if ends else None


async def _check_one(
    graph: GraphClient, store: Store, grant: TokenHealthRecord, now: datetime, horizon: datetime
) -> Checked:
    result = Checked(
        grant.grant_id,
        grant.page_id,
        grant.psid,
        "ok",
        _iso(grant.expires_at),
        _iso(grant.data_access_expires_at),
    )
    try:
        info = await debug_token(graph, grant.access_token)
    except InvalidTokenError as exc:
        # Problems with the *input* token come back inside data; a 190 here is the app token.
        raise ConfigProblem(str(exc)) from None
    except GraphError as exc:
        result.state, result.detail = "unchecked", f"Graph error: {exc}"
        return result
    verdict, reason = _verdict(info, now)
    await store.record_token_check(
        grant.grant_id,
        result=verdict,
        now=now,
        expires_at=info.expires_at,
        data_access_expires_at=info.data_access_expires_at,
        reason=reason,
    )
    result.expires_at = _iso(info.expires_at)
    result.data_access_expires_at = _iso(info.data_access_expires_at)
    if verdict != "valid":
        result.state, result.detail = verdict, reason.removeprefix("debug_token: ")
        return result
    ends = _runs_out(info)
    if ends is not None and ends <= horizon:
        which = "data access" if ends == info.data_access_expires_at else "the token"
        left = max((ends - now).days, 0)
        days = "1 day" if left == 1 else f"{left} days"
        result.state, result.detail = "expiring", f"{which}: {days} left"
        result.ends_on = f"{ends:%Y-%m-%d}"
    if grant.expiry_notified_at is not None:
        result.notified = "already notified"
    return result


def _notice(links: LoginLinkReferences, start_url: str, item: Checked) -> dict[str, Any]:
    """The message: a login button like the bot's prompts. Its URL is queued as a reference
    (no ticket at rest in the outbox); the sender signs it when the message goes out."""
    from botperms.messenger import button_template, web_url_button

    button = web_url_button(NOTICE_BUTTON, start_url, height="full")
    button["url"] = links.reference(item.page_id, item.psid)
    return button_template(NOTICE.format(day=item.ends_on or "soon"), [button])


async def _run(settings: Settings, days: int, notify: bool, progress: Progress) -> list[Checked]:
    from botperms.flows import START_PATH, TicketSigner
    from botperms.flows.ticket_refs import LoginLinkReferences
    from botperms.store import Database, Store, TokenCipher

    database = Database(settings.database_url)
    graph = GraphClient.from_settings(settings)
    try:
        await database.migrate()
        store = Store(database, TokenCipher([k.get_secret_value() for k in settings.token_keys]))
        grants = await store.grants_to_check()
        now = datetime.now(UTC)
        horizon = now + timedelta(days=days)
        task = progress.add_task("Checking tokens with debug_token", total=len(grants))
        turns = asyncio.Semaphore(CONCURRENCY)

        async def one(grant: TokenHealthRecord) -> Checked:
            async with turns:
                checked = await _check_one(graph, store, grant, now, horizon)
            progress.advance(task)
            return checked

        results = list(await asyncio.gather(*(one(grant) for grant in grants)))
        if notify:
            tickets = TicketSigner(
                settings.app_secret.get_secret_value(), settings.ticket_ttl_seconds
            )
            start_url = settings.url(START_PATH)
            links = LoginLinkReferences(tickets, start_url, tuple(settings.scopes))
            for item in results:
                if item.state == "expiring":
                    item.notified = await store.notify_expiring(
                        item.grant_id,
                        message=_notice(links, start_url, item),
                        now=now,
                        window=WINDOW,
                    )
        return results
    finally:
        await graph.aclose()
        await database.dispose()


def _table(results: list[Checked]) -> Table:
    colour = {"ok": "green", "expiring": "yellow", "unchecked": "magenta"}
    table = Table(title=f"Stored tokens ({len(results)})")
    for column in ("grant", "page", "psid", "state", "detail", "data access ends", "notified"):
        # Ids are copied into other commands: never folded.
        table.add_column(column, no_wrap=column in ("grant", "page", "psid", "data access ends"))
    for item in results:
        paint = colour.get(item.state, "red")
        table.add_row(
            str(item.grant_id),
            item.page_id,
            item.psid,
            f"[{paint}]{item.state}[/]",
            item.detail,
            (item.data_access_expires_at or "never")[:10],
            item.notified,
        )
    return table


def check(
    expiring_within: Annotated[
        int,
        typer.Option(
            "--expiring-within",
            min=0,
            metavar="DAYS",
            help="List tokens whose data access (or the token itself) ends within DAYS days.",
        ),
    ] = 7,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify",
            help="Tell each person whose access is ending, once, in Messenger (only inside "
            "the 24-hour window), with a button to log in again. The running bot sends it.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for scripts.")] = False,
) -> None:
    """Check every stored user token with Facebook's debug_token.

    Expired and invalid tokens are marked in the database (the bot then asks those people to
    log in again). Exit code 0 when every token is fine, 1 when some need attention
    (expiring, expired, invalid or not checkable), 2 for a configuration problem.
    """
    from botperms.store import StoreError, TokenDecryptError

    settings = load_settings()
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,  # stderr: --json output on stdout stays one clean document
        transient=as_json,
    )
    try:
        with bar:
            results = asyncio.run(_run(settings, expiring_within, notify, bar))
    except ConfigProblem as exc:
        console.print(
            f"[bold red]Facebook refused the app token:[/] {exc}\n"
            "Check BOTPERMS_APP_ID and BOTPERMS_APP_SECRET."
        )
        raise typer.Exit(2) from None
    except TokenDecryptError:
        console.print(
            "[bold red]A stored token matches none of BOTPERMS_TOKEN_KEYS.[/] "
            "Put the key it was encrypted with back in the list."
        )
        raise typer.Exit(2) from None
    except StoreError as exc:
        console.print(f"[bold red]The database is unavailable:[/] {exc}")
        raise typer.Exit(2) from None
    attention = [item for item in results if item.state != "ok"]
    if as_json:
        counts = {state: sum(r.state == state for r in results) for state in _STATES}
        typer.echo(json.dumps({"counts": counts, "tokens": [asdict(r) for r in results]}))
    else:
        Console().print(_table(results))
        told = sum(item.notified == "notified" for item in results)
        summary = f"{len(results) - len(attention)} fine, {len(attention)} need attention"
        console.print(summary + (f"; {told} notified" if notify else ""))
    if attention:
        raise typer.Exit(1)


_STATES = ("ok", "expiring", "expired", "invalid", "unchecked")

"""``botperms profile show | diff | apply | reset``: the page's Messenger Profile as code.

Exit codes: 0 done (or nothing to do); 1 ``diff --check`` found differences, or ``reset`` was
not confirmed; 2 the profile file or the configuration is invalid; 3 Facebook refused a call or
could not be reached.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from botperms.config import LoginFlow, Settings, describe_error
from botperms.graph.client import GraphClient
from botperms.graph.errors import GraphError
from botperms.graph.profile import (
    delete_messenger_profile,
    get_messenger_profile,
    set_messenger_profile,
)
from botperms.messenger.profile import (
    PROPERTIES,
    MessengerProfileError,
    desired_messenger_profile,
    load_messenger_profile,
)
from botperms.messenger.profile_plan import ProfileDiff, Step, diff, plan, reset_plan

EXIT_DIFFERENCES = 1
EXIT_INVALID = 2
EXIT_FACEBOOK = 3
DEFAULT_FILE = Path("messenger_profile.toml")

profile_app = typer.Typer(
    help="The page's Messenger Profile (Get Started, greeting, persistent menu, ice breakers, "
    "whitelisted domains, account-linking URL) as code.\n\n"
    "Write it in messenger_profile.toml (see docs/messenger-profile.md), check it with "
    "`botperms profile diff`, send it with `botperms profile apply`. Apply sends only what "
    "differs, so running it twice changes nothing the second time. BOTPERMS_PUBLIC_URL's origin "
    "is always whitelisted; account_linking_url follows BOTPERMS_LOGIN_FLOW=account_link.\n\n"
    "Exit codes: 0 ok, 1 differences found (diff --check), 2 invalid file or settings, "
    "3 Facebook refused a call or could not be reached.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

FileOption = Annotated[
    Path, typer.Option("--file", "-f", help="The profile file (TOML).", dir_okay=False)
]
PruneOption = Annotated[
    bool,
    typer.Option(
        "--prune",
        help="Also remove properties the page has but the file does not mention "
        "(without it they are left alone).",
    ),
]
T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings()  # filled from the environment
    except ValidationError as exc:
        err.print("[bold red]The configuration is incomplete.[/]")
        err.print(describe_error(exc), markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID) from None


def profile_for(settings: Settings, file: Path) -> dict[str, Any]:
    """The profile ``file`` asks for under these settings; raises ``MessengerProfileError``."""
    return desired_messenger_profile(
        load_messenger_profile(file),
        public_url=settings.public_url,
        account_linking_url=_account_linking_url(settings),
    )


async def send_step(graph: GraphClient, page_token: str, step: Step) -> None:
    if step.action == "set":
        await set_messenger_profile(graph, page_token, step.values)
    else:
        await delete_messenger_profile(graph, page_token, step.fields)


async def sync_profile(
    graph: GraphClient, page_token: str, desired: dict[str, Any], *, prune: bool = False
) -> list[Step]:
    """Make the page's profile match ``desired``; returns the calls made (none: it matched)."""
    current = await get_messenger_profile(graph, page_token, PROPERTIES)
    steps = plan(diff(desired, current, prune=prune))
    for step in steps:
        await send_step(graph, page_token, step)
    return steps


def _account_linking_url(settings: Settings) -> str | None:
    if settings.login_flow is not LoginFlow.ACCOUNT_LINK:
        return None
    # Imported here: only this setting needs the flows layer (and its database models).
    from botperms.flows.linking import LINK_START_PATH

    return settings.url(LINK_START_PATH)


def _desired(file: Path) -> tuple[Settings, dict[str, Any]]:
    """The checked file, then the settings, then the profile they ask for; exit 2 on a problem."""
    try:
        spec = load_messenger_profile(file)
    except MessengerProfileError as exc:
        count = len(exc.problems)
        err.print(
            Text(
                f"{file} is not a valid Messenger Profile ({count} problem"
                f"{'s' if count != 1 else ''}):",
                style="bold red",
            )
        )
        for problem in exc.problems:
            err.print(Text(f"  {problem}"))
        raise typer.Exit(EXIT_INVALID) from None
    settings = _settings()
    linking_url = _account_linking_url(settings)
    return settings, desired_messenger_profile(
        spec, public_url=settings.public_url, account_linking_url=linking_url
    )


def _run(settings: Settings, work: Callable[[GraphClient, str], Awaitable[T]]) -> T:
    """Run ``work`` with a Graph client and the page token; a Graph failure exits 3."""

    async def run() -> T:
        graph = GraphClient.from_settings(settings)
        try:
            return await work(graph, settings.page_token.get_secret_value())
        finally:
            await graph.aclose()

    try:
        return asyncio.run(run())
    except GraphError as exc:
        err.print(Text("The Messenger Profile call to Facebook failed:", style="bold red"))
        err.print(Text(f"  {exc}"))
        raise typer.Exit(EXIT_FACEBOOK) from None


async def _read(graph: GraphClient, page_token: str) -> dict[str, Any]:
    return await get_messenger_profile(graph, page_token, PROPERTIES)


def _execute(settings: Settings, steps: list[Step]) -> None:
    async def work(graph: GraphClient, page_token: str) -> None:
        for step in steps:
            await send_step(graph, page_token, step)
            out.print(Text(f"  ✓ {step.describe()}", style="green"))

    _run(settings, work)


def _print_diff(changes: ProfileDiff, file: Path) -> None:
    marks = {"added": ("+", "green"), "changed": ("~", "yellow"), "removed": ("-", "red")}
    for change in changes.changes:
        mark, style = marks[change.kind]
        out.print(Text(f"{mark} {change.property} ({change.kind})", style=f"bold {style}"))
        for line in change.lines():
            colour = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
            out.print(Text(f"    {line}", style=colour))
    if changes.unmanaged:
        out.print(
            Text(
                f"Left alone (set on the page, not in {file}; --prune removes them): "
                f"{', '.join(changes.unmanaged)}",
                style="dim",
            )
        )


@profile_app.command()
def show(
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON.")] = False,
) -> None:
    """Print the Messenger Profile the page has now."""
    settings = _settings()
    current = _run(settings, _read)
    if as_json:
        print(json.dumps(current, indent=2, ensure_ascii=False))
        return
    if not current:
        out.print(f"Page {settings.page_id} has no Messenger Profile set.")
        return
    out.print(Text(f"Messenger Profile of page {settings.page_id}:", style="bold"))
    for name, value in current.items():
        out.print(Text(f"{name}:", style="bold cyan"))
        out.print_json(data=value)


@profile_app.command("diff")
def diff_command(
    file: FileOption = DEFAULT_FILE,
    prune: PruneOption = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit with code 1 when there are differences.")
    ] = False,
) -> None:
    """Show what `apply` would change, per property.

    Each property is added, changed or removed, with a diff of its JSON (- on the page now,
    + after apply). With --check the exit code is 1 when anything differs (for CI).
    """
    settings, desired = _desired(file)
    changes = diff(desired, _run(settings, _read), prune=prune)
    if not changes:
        out.print(Text(f"No differences: the page's Messenger Profile matches {file}."))
        if changes.unmanaged:
            _print_diff(changes, file)
        return
    _print_diff(changes, file)
    count = len(changes.changes)
    what = "property differs" if count == 1 else "properties differ"
    out.print(f"{count} {what}; `botperms profile apply` makes the change.")
    if check:
        raise typer.Exit(EXIT_DIFFERENCES)


@profile_app.command()
def apply(
    file: FileOption = DEFAULT_FILE,
    prune: PruneOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the calls without sending them.")
    ] = False,
) -> None:
    """Send the profile file to the page (only what differs).

    Properties are sent in the order Facebook requires: Get Started before the persistent
    menu. Properties the file leaves out stay as they are unless --prune is given.
    """
    settings, desired = _desired(file)
    changes = diff(desired, _run(settings, _read), prune=prune)
    steps = plan(changes)
    if not steps:
        out.print(Text(f"No change: the page's Messenger Profile already matches {file}."))
        return
    _print_diff(changes, file)
    if dry_run:
        out.print("Would send, in this order:")
        for step in steps:
            out.print(Text(f"  {step.describe()}"))
        return
    out.print("Applying:")
    _execute(settings, steps)
    out.print(f"[green]Done:[/] the page's Messenger Profile matches {escape(str(file))}.")


@profile_app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove the page's whole Messenger Profile.

    The persistent menu goes first: Facebook keeps Get Started while a menu exists.
    """
    settings = _settings()
    steps = reset_plan(_run(settings, _read))
    if not steps:
        out.print(f"Nothing to reset: page {settings.page_id} has no Messenger Profile set.")
        return
    fields = [name for step in steps for name in step.fields]
    if not yes and not typer.confirm(f"Remove {', '.join(fields)} from page {settings.page_id}?"):
        raise typer.Exit(EXIT_DIFFERENCES)
    out.print("Removing:")
    _execute(settings, steps)
    out.print("[green]Done:[/] the page has no Messenger Profile set.")

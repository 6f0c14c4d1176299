"""``botperms serve`` and ``botperms demo``: run a bot, for real or against fakebook."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from botperms.cli.common import console, load_bot, load_settings
from botperms.config import LoginFlow


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
    from botperms.logs import configure
    from botperms.web import create_app
    from botperms.web.server import run_server

    settings = load_settings()
    configure(log_level or settings.log_level)
    bot = load_bot(target)
    # uvicorn plus deadlines for slow clients and a connection cap (botperms.web.server).
    run_server(
        create_app(settings, bot),
        host=host,
        port=port,
        log_level=(log_level or settings.log_level).lower(),
        proxy_headers=True,
        # Ours (botperms.web.access_log) leaves out query strings, which carry tickets and codes.
        access_log=False,
    )


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
    from botperms.demo import EXAMPLE_PROFILE, prepare, run_demo

    bot = load_bot(target)
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

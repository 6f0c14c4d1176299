"""`fakebook serve`: run the stand-in with uvicorn; `fakebook example-config`: a starting file.

`serve` binds its socket itself so `--port 0` works (the OS picks a free port), then prints
exactly one line, `fakebook listening on http://HOST:PORT`, which the botperms demo reads to
learn where fakebook is.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from fakebook.app import create_app
from fakebook.config import FakebookConfig, PageConfig, load_config

app = typer.Typer(
    help="fakebook: a local stand-in for the Facebook Graph API subset, the Login dialog and a"
    " Messenger chat simulator, for any Messenger bot or Facebook Login client. Settings come"
    " from --config FILE.json and FAKEBOOK_* variables (e.g. FAKEBOOK_WEBHOOK_URL,"
    " FAKEBOOK_APP_SECRET). Guide: docs/fakebook.md.",
    no_args_is_help=True,
    add_completion=False,
)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


# One string per paragraph: rich wraps paragraphs itself and keeps explicit line breaks.
SERVE_HELP = "\n\n".join(
    (
        "Run fakebook: one server for every surface, printing `fakebook listening on URL`.",
        "Emulated: the Graph API at /vNN.0/... (Send API with sender actions, Messenger Profile"
        " and per-person menus, subscribed_apps, the User Profile API, /me and /me/picture,"
        " likes with paging, permissions, oauth/access_token, debug_token, account linking);"
        " the Login dialog at /vNN.0/dialog/oauth; signed webhook deliveries to webhook_url,"
        " with retries; a chat simulator at / (Messenger Extensions, m.me, closeWindow); the"
        " person's Settings page with the deauthorize and data-deletion callbacks. An expired"
        " version is served at the oldest available one, as on Facebook. Several pages with"
        " --extra-page: each has its own token, threads, webhooks and subscribed_apps.",
        "Not emulated: attachment upload, the Handover, Conversations and Insights APIs,"
        " Instagram, WhatsApp, Login for Business, real rate limiting; any other path answers"
        " Facebook's error for it.",
        "Control API at /_fakebook/ (JSON): people, reset, chat/{psid}/message|postback|referral,"
        " sent, deliveries, grants/{asid}, subscription, tokens/expire|invalidate; fault"
        " injection: faults (Graph errors), latency (fixed or random delay per path), usage"
        " (X-App-Usage and X-Business-Use-Case-Usage headers).",
        "Point any framework at it by putting the printed URL where it has"
        " https://graph.facebook.com and https://www.facebook.com. Guide: docs/fakebook.md.",
    )
)


@app.command(help=SERVE_HELP)
def serve(
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="JSON file of settings (see `fakebook example-config`).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 8090,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    extra_page: Annotated[
        list[str] | None,
        typer.Option(
            "--extra-page",
            metavar="ID,NAME,TOKEN",
            help="One more page of the app, with its own page token (repeat for more);"
            " the same as `extra_pages` in the settings file.",
        ),
    ] = None,
) -> None:
    """Run fakebook (see SERVE_HELP)."""
    try:
        config = load_config(config_file)
        if extra_page:
            config = _with_pages(config, extra_page)
    except (ValueError, OSError) as exc:
        typer.echo(f"fakebook: bad configuration: {exc}", err=True)
        raise typer.Exit(2) from None
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{bound_port}"
    if config.public_url is None:
        config = config.model_copy(update={"public_url": url})
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level=log_level))
    print(f"fakebook listening on {url}", flush=True)
    asyncio.run(server.serve(sockets=[sock]))


def _with_pages(config: FakebookConfig, specs: list[str]) -> FakebookConfig:
    pages = list(config.extra_pages)
    for spec in specs:
        parts = [part.strip() for part in spec.split(",")]
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"--extra-page takes ID,NAME,TOKEN, not {spec!r}")
        pages.append(PageConfig(id=parts[0], name=parts[1], token=parts[2]))
    values = {**config.model_dump(), "extra_pages": [page.model_dump() for page in pages]}
    return FakebookConfig.model_validate(values)


@app.command("example-config")
def example_config() -> None:
    """Print a settings file with every option at its default value."""
    defaults = FakebookConfig(
        webhook_url="http://127.0.0.1:8000/webhook",
        valid_redirect_uris=["http://127.0.0.1:8000/auth/callback"],
    )
    sys.stdout.write(json.dumps(defaults.model_dump(), indent=2) + "\n")


def main() -> None:
    app()

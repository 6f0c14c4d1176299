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
from fakebook.config import FakebookConfig, load_config

app = typer.Typer(
    help="fakebook: a local stand-in for the Facebook Graph API subset, the Login dialog and a"
    " Messenger chat simulator. Settings come from --config FILE.json and FAKEBOOK_* variables"
    " (e.g. FAKEBOOK_WEBHOOK_URL, FAKEBOOK_APP_SECRET).",
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


@app.command()
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
) -> None:
    """Run fakebook: Graph API at /vNN.0/…, Login dialog, chat simulator at /, control API at
    /_fakebook/."""
    try:
        config = load_config(config_file)
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

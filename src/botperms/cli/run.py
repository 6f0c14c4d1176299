"""``botperms serve`` and ``botperms demo``: run a bot, for real or against fakebook."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from botperms.cli.common import console, load_bot, load_settings, settle_garbage_collection
from botperms.config import LoginFlow

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from botperms.app import App
    from botperms.demo import Reload


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
    reload: Annotated[
        bool,
        typer.Option(
            "--reload",
            help="Restart when a .py, .toml or .env file under the current folder changes "
            "(for development).",
        ),
    ] = False,
    web_only: Annotated[
        bool,
        typer.Option(
            "--web-only",
            help="Run only the webhook and the login pages; `botperms worker` processes "
            "handle the events. Needs PostgreSQL. Run as many as you like behind a load "
            "balancer.",
        ),
    ] = False,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            max=2,
            help="2: the web part and the handlers in two processes on this machine, so a "
            "second core does part of the work (SQLite only; 1.1-1.4 times the replies/s "
            "under load and twice the memory, see docs/deployment.md). The handler process "
            "is restarted if it dies.",
        ),
    ] = 1,
) -> None:
    """Run the webhook, the login pages and the workers in one process (the embedded
    default, on SQLite or PostgreSQL), or with --web-only only the web part."""
    from botperms.app import Role, check_setup, create_app
    from botperms.cli.ports import check_free
    from botperms.logs import configure
    from botperms.store import StoreError

    settings = load_settings()
    role = Role.WEB if web_only else Role.EMBEDDED
    if processes == 2 and (web_only or not settings.database_url.startswith("sqlite")):
        console.print(
            "[bold red]botperms cannot start:[/] --processes 2 runs the embedded role on "
            "SQLite; on PostgreSQL run `serve --web-only` and `botperms worker` processes",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    if not reload:
        try:
            asyncio.run(check_setup(settings, role))
        except StoreError as exc:
            console.print(f"[bold red]botperms cannot start:[/] {exc}", soft_wrap=True)
            raise typer.Exit(1) from None
    try:
        check_free(port, "--port", host)
        if settings.metrics and settings.metrics_port is not None:
            check_free(settings.metrics_port, "BOTPERMS_METRICS_PORT", settings.metrics_host)
    except RuntimeError as exc:
        console.print(f"[bold red]botperms cannot start:[/] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    if reload:
        command = [sys.executable, "-m", "botperms.cli", "serve", *([target] if target else [])]
        command += ["--host", host, "--port", str(port)]
        command += ["--log-level", log_level] if log_level else []
        command += ["--web-only"] if web_only else []
        command += ["--processes", str(processes)]
        _reload_forever(command, [_watched(target)], [])
    if not reload and settings.database_url.startswith("sqlite"):
        from botperms.worker.process_lock import AlreadyRunning, check_database_free

        try:
            check_database_free(settings.database_url)
        except AlreadyRunning as exc:
            console.print(f"[bold red]botperms cannot start:[/] {exc}", soft_wrap=True)
            raise typer.Exit(1) from None
    configure(log_level or settings.log_level)
    bot = load_bot(target)
    # The socket lives in a private folder of its own (Unix socket paths are short).
    relay_dir = Path(tempfile.mkdtemp(prefix="botperms-")) if processes == 2 else None
    half = None
    if relay_dir is not None:
        from botperms.app import WebHalf

        socket = relay_dir / "relay.sock"
        command = [sys.executable, "-m", "botperms.cli", "handler-process"]
        command += [*([target] if target else []), "--socket", str(socket)]
        command += ["--parent", str(os.getpid()), "--log-level", log_level or settings.log_level]
        half = WebHalf(socket, tuple(command))
    app = create_app(settings, bot, role=role, half=half)
    settle_garbage_collection()
    try:
        # uvicorn plus deadlines for slow clients and a connection cap (botperms.web.server).
        _run(app, host, port, log_level or settings.log_level)
    finally:
        if relay_dir is not None:
            shutil.rmtree(relay_dir, ignore_errors=True)


def _run(app: Starlette, host: str, port: int, log_level: str) -> None:
    from botperms.web.server import run_server

    run_server(
        app,
        host=host,
        port=port,
        log_level=log_level.lower(),
        # Nothing reads the client's address or scheme from the request (links come from
        # BOTPERMS_PUBLIC_URL), and uvicorn's X-Forwarded-* middleware cost 4 % of the
        # process under a campaign's load (docs/performance.md).
        proxy_headers=False,
        # Ours (botperms.web.access_log) leaves out query strings, which carry tickets and codes.
        access_log=False,
    )


def handler_process(
    target: Annotated[str | None, typer.Argument(metavar="[MODULE:ATTRIBUTE]")] = None,
    socket: Annotated[Path, typer.Option()] = Path("relay.sock"),
    parent: Annotated[int, typer.Option()] = 0,
    log_level: Annotated[str | None, typer.Option()] = None,
) -> None:
    """The handler half of `serve --processes 2`, started by the web half (internal)."""
    import uvloop

    from botperms.app import App, HandlerHalf
    from botperms.logs import configure
    from botperms.relay import die_with_parent

    if parent <= 0:
        console.print("handler-process is started by `botperms serve --processes 2`, not by hand")
        raise typer.Exit(2)
    die_with_parent(parent)
    settings = load_settings()
    configure(log_level or settings.log_level)
    bot = load_bot(target)
    app = App.build(settings, bot, half=HandlerHalf(socket))
    settle_garbage_collection()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        code = runner.run(_handle_until_sigterm(app))
    sys.exit(code)


async def _handle_until_sigterm(app: App) -> int:
    """Ctrl-C reaches the whole process group: the web half stops first, then sends this
    half SIGTERM, so what it handed over is stored and answered before this half goes. If
    the web half hangs up with sends unanswered, this half stops (exit code 1) and the web
    half starts a new one, whose recovery resends them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await app.start()
    lost = asyncio.create_task(app.relay_lost.wait())
    asked = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({lost, asked}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        lost.cancel()
        asked.cancel()
        await app.stop()
    return 1 if app.relay_lost.is_set() and not stop.is_set() else 0


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
    reload: Annotated[
        bool,
        typer.Option(
            "--reload",
            help="Restart the bot when a .py or .toml file under the current folder changes. "
            "fakebook keeps running, so the conversation stays on screen.",
        ),
    ] = False,
) -> None:
    """Run a bot against fakebook on 127.0.0.1: no Facebook account, no network.

    fakebook (a local stand-in for Facebook, with a Messenger chat simulator) and the bot start
    together, wired to each other; the Messenger Profile file is applied to the demo page.
    With --reload, saving bot.py or messenger_profile.toml restarts the bot (and applies the
    profile again) while fakebook, and the conversation in it, stays.
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
        restart = (
            _demo_reload(target, port, fakebook_port, data_dir, flow, profile) if reload else None
        )
        code = asyncio.run(run_demo(settings, config_path, fakebook_port, bot, profile, restart))
    except KeyboardInterrupt:
        code = 0  # Ctrl-C is how a demo ends; both servers are already down
    except RuntimeError as exc:  # a port in use, or fakebook did not come up
        console.print(f"[bold red]The demo could not start:[/] {exc}", soft_wrap=True)
        code = 1
    sys.exit(code)


def demo_bot(
    target: Annotated[str | None, typer.Argument(metavar="[MODULE:ATTRIBUTE]")] = None,
    port: Annotated[int, typer.Option()] = 8000,
    fakebook_port: Annotated[int, typer.Option()] = 8001,
    data_dir: Annotated[str, typer.Option()] = "data/demo",
    flow: Annotated[LoginFlow, typer.Option()] = LoginFlow.WEB,
) -> None:
    """The bot half of `botperms demo --reload`, run again after each change (internal)."""
    from botperms.demo import bot_server, bot_settings
    from botperms.logs import configure

    configure("WARNING")
    bot = load_bot(target)
    settings = bot_settings(port, fakebook_port, Path(data_dir), flow)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(bot_server(settings, bot).serve())


def _demo_reload(
    target: str | None,
    port: int,
    fakebook_port: int,
    data_dir: str,
    flow: LoginFlow,
    profile: Path | None,
) -> Reload:
    """How ``demo --reload`` runs the bot: ``botperms demo-bot`` with the demo's options."""
    from botperms.demo import Reload

    command = [sys.executable, "-m", "botperms.cli", "demo-bot", *([target] if target else [])]
    command += ["--port", str(port), "--fakebook-port", str(fakebook_port)]
    command += ["--data-dir", data_dir, "--flow", flow.value]
    watched = [_watched(target), *([profile.resolve()] if profile else [])]
    return Reload(command, watched, [Path(data_dir).resolve()])


def _watched(target: str | None) -> Path:
    """Where a bot's files are: the current folder (as uvicorn --reload), or the example's."""
    if target:
        return Path.cwd()
    from botperms import examples

    return Path(examples.__file__).parent


def _reload_forever(command: list[str], paths: list[Path], ignore: list[Path]) -> NoReturn:
    from botperms.cli.reload import supervise

    shown = ", ".join(str(path) for path in paths)
    console.print(f"[cyan]Watching {shown} for changes[/] (Ctrl-C to stop).")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(supervise(command, paths, console, ignore=ignore))
    sys.exit(0)

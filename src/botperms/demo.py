"""``botperms demo``: fakebook and the example bot on 127.0.0.1, wired to each other.

fakebook runs as a subprocess (``python -m fakebook``) because botperms never imports it: the
two only meet over HTTP, as botperms and Facebook do.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from rich.console import Console
from rich.panel import Panel

from botperms.bot import Bot
from botperms.cli.demo_panel import how_to_try, read_profile
from botperms.cli.demo_setup import EXAMPLE_PROFILE, bot_settings, prepare
from botperms.cli.reload import supervise
from botperms.config import Settings

if TYPE_CHECKING:
    import uvicorn

# Re-exported: the demo's setup lives in botperms.cli.demo_setup.
__all__ = ["EXAMPLE_PROFILE", "Reload", "bot_server", "bot_settings", "prepare", "run_demo"]

console = Console()


async def _wait_until_up(
    url: str, process: asyncio.subprocess.Process, seconds: float = 15
) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(int(seconds * 10)):
            if process.returncode is not None:
                raise RuntimeError(f"fakebook exited with code {process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                await client.get(url, timeout=1)
                return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"fakebook did not answer at {url} within {seconds:.0f}s")


async def apply_profile(settings: Settings, path: Path | None) -> str:
    """Applies the Messenger Profile file to fakebook's page; a line for the panel."""
    from botperms.graph import GraphClient, GraphError
    from botperms.messenger.profile import MessengerProfileError
    from botperms.profile_cmd import profile_for, sync_profile

    if path is None:
        return "none (no messenger_profile.toml here)"
    try:
        desired = profile_for(settings, path)
    except MessengerProfileError as exc:
        console.print(f"[bold yellow]{path} was not applied:[/]")
        for problem in exc.problems:
            console.print(f"  {problem}", markup=False, highlight=False)
        return f"[yellow]{path} has problems (see above); not applied[/]"
    graph = GraphClient.from_settings(settings)
    try:
        steps = await sync_profile(graph, settings.page_token.get_secret_value(), desired)
    except GraphError as exc:
        console.print(f"[bold yellow]fakebook refused the Messenger Profile:[/] {exc}")
        return f"[yellow]{path}: refused (see above)[/]"
    finally:
        await graph.aclose()
    changed = "already up to date" if not steps else "applied"
    return f"{path.name if path == EXAMPLE_PROFILE else path} ({changed})"


@dataclass(frozen=True)
class Reload:
    """``--reload``: the bot runs as ``command`` and restarts when files under ``paths``
    change; fakebook, in the demo's own process, keeps running and keeps its state."""

    command: list[str]
    paths: list[Path]
    ignore: list[Path]


def bot_server(settings: Settings, bot: Bot) -> uvicorn.Server:
    """The bot's web server in the demo (in this process, or the child of ``--reload``)."""
    from botperms.app import create_app
    from botperms.web.server import build_server

    return build_server(
        create_app(settings, bot), host="127.0.0.1",
        port=settings_port(settings),
        log_level="warning",
    )  # fmt: skip


async def run_demo(
    settings: Settings,
    config_path: Path,
    fakebook_port: int,
    bot: Bot | None = None,
    profile: Path | None = EXAMPLE_PROFILE,
    reload: Reload | None = None,
) -> int:
    from botperms.examples.likes_bot import bot as example_bot
    from botperms.logs import configure

    configure("WARNING")
    if importlib.util.find_spec("fakebook") is None:
        # fakebook is its own distribution: a production install of botperms lacks it.
        console.print(
            "[bold red]The demo needs fakebook[/], which is not installed: "
            'pip install "botperms\\[fakebook]" (from a checkout: pip install ./src/fakebook).'
        )
        return 2
    fakebook_url = settings.graph_url
    fakebook = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fakebook", "serve", "--config", str(config_path),
        "--host", "127.0.0.1", "--port", str(fakebook_port),
    )  # fmt: skip
    bot = bot or example_bot
    how = how_to_try(bot, read_profile(profile), settings.login_flow, example=bot is example_bot)
    try:
        with console.status("Starting fakebook…"):
            await _wait_until_up(fakebook_url + "/", fakebook)
        if reload is not None:
            await _run_reloading(settings, config_path, profile, how, reload)
            return 0
        server = bot_server(settings, bot)
        serving = asyncio.create_task(server.serve())
        # uvicorn offers no start-up event to await, only this flag.
        while not server.started and not serving.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if serving.done():
            console.print(
                f"[bold red]The bot could not start at {settings.public_url}[/] "
                "(is the port in use? try --port)."
            )
            return 1
        await _announce(settings, config_path, profile, how)
        await serving
        return 0
    finally:
        if fakebook.returncode is None:
            fakebook.terminate()
            try:
                await asyncio.wait_for(fakebook.wait(), timeout=5)
            except TimeoutError:
                fakebook.kill()
        console.print("Demo stopped.")


async def _run_reloading(
    settings: Settings, config_path: Path, profile: Path | None, how: str, reload: Reload
) -> None:
    announced = False

    async def started(process: asyncio.subprocess.Process, restarts: int) -> None:
        nonlocal announced
        if not await _bot_is_up(settings, process):
            return  # it printed why; the supervisor waits for the next change
        if not announced:
            await _announce(settings, config_path, profile, how, reloading=True)
            announced = True
        else:
            profile_line = await apply_profile(settings, profile)
            console.print(f"[green]The bot is up again.[/] Messenger Profile: {profile_line}")

    await supervise(reload.command, reload.paths, console, started=started, ignore=reload.ignore)


async def _bot_is_up(
    settings: Settings, process: asyncio.subprocess.Process, seconds: float = 30
) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    async with httpx.AsyncClient() as client:
        while process.returncode is None and asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(settings.url("/healthz"), timeout=1)).status_code == 200:
                    return True
            await asyncio.sleep(0.1)
    return False


async def _announce(
    settings: Settings, config_path: Path, profile: Path | None, how: str, reloading: bool = False
) -> None:
    """Once the bot is up: verify the webhook, apply the profile, print the panel."""
    fakebook_url = settings.graph_url
    async with httpx.AsyncClient() as client:
        verified = await client.post(f"{fakebook_url}/_fakebook/webhook/verify", timeout=10)
    ok = verified.status_code == 200 and verified.json().get("ok", False)
    profile_line = await apply_profile(settings, profile)
    watching = "Edit your files: the bot restarts when you save. " if reloading else ""
    console.print(
        Panel.fit(
            f"[bold]Open the Messenger simulator:[/] [link]{fakebook_url}/chat[/link]\n\n"
            f"{how}\n\n"
            f"Bot:      {settings.public_url} (login flow: {settings.login_flow.value})\n"
            f"fakebook: {fakebook_url} (settings page: {fakebook_url}/settings)\n"
            f"Webhook verified: {'yes' if ok else 'NO (see the bot log)'}\n"
            f"Messenger Profile: {profile_line}\n"
            f"Data:     {config_path.parent.resolve()}\n"
            f"Settings for other commands (botperms profile …): "
            f"set -a; . {config_path.parent / 'demo.env'}; set +a\n\n"
            f"{watching}Press Ctrl-C to stop.",
            title="botperms demo",
        )
    )


def settings_port(settings: Settings) -> int:
    return urlsplit(settings.public_url).port or 80

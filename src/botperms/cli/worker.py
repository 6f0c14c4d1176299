"""``botperms worker``: the handlers and the sends of the distributed mode."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from botperms.cli.common import console, load_bot, load_settings, settle_garbage_collection

if TYPE_CHECKING:
    from botperms.app import App


def worker(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="[MODULE:ATTRIBUTE]",
            help="Your Bot, e.g. mybot:bot (the same as the web replicas run). Without it, "
            "the example likes bot runs.",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1000,
            help="Turns this worker runs at once; each turn handles one of a page's 64 groups "
            "of conversations (default BOTPERMS_WORKER_CONCURRENCY, 32).",
        ),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="Log level (default from settings).")
    ] = None,
) -> None:
    """Handle events and send replies for `botperms serve --web-only` replicas.

    Needs PostgreSQL: the events, their jobs (procrastinate) and the outbox live in the shared
    database. Run any number of workers on any number of machines: each conversation is
    handled by one worker at a time, in order, and a worker that dies (even `kill -9`) has its
    jobs taken over by another once its heartbeat is `BOTPERMS_WORKER_STALLED_SECONDS` old.
    Stop it with Ctrl-C or SIGTERM: it finishes the jobs in hand first.
    """
    from botperms.app import App, Role, check_setup
    from botperms.logs import configure
    from botperms.store import StoreError

    settings = load_settings()
    try:
        asyncio.run(check_setup(settings, Role.WORKER))
    except StoreError as exc:
        console.print(f"[bold red]botperms cannot start:[/] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    configure(log_level or settings.log_level)
    bot = load_bot(target)
    app = App.build(settings, bot, role=Role.WORKER, concurrency=concurrency)
    settle_garbage_collection()
    asyncio.run(_run_until_signal(app))


async def _run_until_signal(app: App) -> None:
    task = asyncio.create_task(app.run_worker(), name="botperms-worker")
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task

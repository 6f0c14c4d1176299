"""The ``botperms`` Typer app: every command group registered in one place."""

from __future__ import annotations

import typer

from botperms.cli import db, pages, project, queues, run, stats, tokens, worker
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
app.command()(run.serve)
app.command()(worker.worker)
app.command()(run.demo)
app.command("demo-bot", hidden=True)(run.demo_bot)
app.command("handler-process", hidden=True)(run.handler_process)
app.command()(project.new)
app.command()(project.keygen)
app.add_typer(db.db_app, name="db")
db.tokens_app.command("check")(tokens.check)
app.add_typer(db.tokens_app, name="tokens")
app.command()(stats.stats)
app.add_typer(profile_app, name="profile")
app.add_typer(queues.outbox_app, name="outbox")
app.add_typer(queues.inbox_app, name="inbox")
app.add_typer(pages.pages_app, name="pages")


def main() -> None:
    app()

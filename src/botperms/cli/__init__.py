"""``botperms``: the command line (one module per command group)."""

from botperms.cli.common import load_bot, load_settings
from botperms.cli.main import app, main

__all__ = ["app", "load_bot", "load_settings", "main"]

"""The handler API a bot author writes against."""

from botperms.bot.app import Bot
from botperms.bot.context import Context, LoginLinks, NotGranted, Runtime
from botperms.bot.dispatcher import Dispatcher, handler_name
from botperms.bot.prompts import Prompts
from botperms.bot.requires import Requirement, requires

__all__ = [
    "Bot",
    "Context",
    "Dispatcher",
    "LoginLinks",
    "NotGranted",
    "Prompts",
    "Requirement",
    "Runtime",
    "handler_name",
    "requires",
]

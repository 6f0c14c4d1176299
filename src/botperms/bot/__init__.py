"""The handler API a bot author writes against."""

from botperms.bot.app import Bot, Dispatcher
from botperms.bot.context import Context, LoginLinks, NotGranted, Runtime

__all__ = ["Bot", "Context", "Dispatcher", "LoginLinks", "NotGranted", "Runtime"]

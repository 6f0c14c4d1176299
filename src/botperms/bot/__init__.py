"""The handler API a bot author writes against: ``Bot``, ``Router``, ``Context``, ``requires``,
``Prompts``. The machinery behind it (``botperms.bot.dispatcher.Dispatcher``,
``botperms.bot.runtime.Runtime``) is internal: the composition root imports it from its
modules, and it is not part of this package's public names."""

from botperms.bot.app import Bot
from botperms.bot.context import Context, NotGranted
from botperms.bot.prompts import Prompts
from botperms.bot.registration import RegistrationError
from botperms.bot.requires import Requirement, requires
from botperms.bot.route import Filter, Middleware, Next
from botperms.bot.routing import Router

__all__ = [
    "Bot",
    "Context",
    "Filter",
    "Middleware",
    "Next",
    "NotGranted",
    "Prompts",
    "RegistrationError",
    "Requirement",
    "Router",
    "requires",
]

"""botperms: Facebook permissions for Messenger bots.

A bot author needs only these names: ``Bot`` (register handlers), ``requires`` (a handler needs
Facebook permissions), ``Context`` (what a handler gets), ``Prompts`` (the framework's own
messages) and ``NotGranted``.
"""

from botperms.bot import Bot, Context, NotGranted, Prompts, requires

__all__ = ["Bot", "Context", "NotGranted", "Prompts", "requires"]

"""botperms: Facebook permissions for Messenger bots."""

from botperms.bot import Bot, Context, NotGranted

__all__ = ["Bot", "Context", "NotGranted"]

"""The web layer: the only code that knows Starlette."""

from botperms.web.app import create_app

__all__ = ["create_app"]

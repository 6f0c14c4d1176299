"""Security headers on every response, and the Content-Security-Policy of each page.

Every policy starts from ``default-src 'none'`` and adds only what a page uses. Responses that
are not our pages (JSON, redirects, static files) get the strictest policy, which nothing of
theirs needs to relax. In production every response also carries HSTS: botperms is only ever
served over https there (config refuses an http public URL).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botperms.config import Environment, Settings

# A year, the value browsers' preload lists ask for; no includeSubDomains, since the operator's
# other hosts under the same domain are not ours to decide for.
HSTS = "max-age=31536000"
STRICTEST = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def page_policy(settings: Settings, *, scripts: bool) -> str:
    """The policy of a page people see.

    - our stylesheet (no inline style, no images, no fonts);
    - forms post only to us, and the Login dialog is allowed as a target because the confirm
      form's answer is a redirect there (browsers check form-action along redirects);
    - framed only by Messenger/Facebook: messenger.com shows webviews in a frame;
    - scripts only where ``scripts`` (the page that takes you back to Messenger): our own
      file and the Messenger Extensions SDK.
    """
    www = _origin(settings.www_url)
    directives = ["default-src 'none'", "style-src 'self'"]
    if scripts:
        directives.append(f"script-src 'self' {_origin(settings.extensions_sdk_url)}")
    directives += [
        "base-uri 'none'",
        f"form-action 'self' {www}",
        "frame-ancestors 'self' https://www.messenger.com https://www.facebook.com "
        f"{www} {_origin(settings.m_me_url)}",
    ]
    return "; ".join(directives)


class SecurityHeaders:
    """ASGI middleware: adds what a response does not already set."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.production = settings.env is Environment.PRODUCTION

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", STRICTEST)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if self.production:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""``ChatTester``: a bot's conversations in a test, with no server and no Facebook.

The bot runs as in production: the composition root (``App.build``) builds it, webhook
deliveries go through the real (signed) webhook endpoint into a SQLite inbox, the real
dispatcher runs the handlers, and the outbox posts the replies to the Send API, here an
in-process fake (:class:`~botperms.testing.fake_graph.FakeGraph`). Logins go through the
bot's real ``/auth`` pages and a fake Login dialog. The workers do not run in the
background: each call drives them until the inbox and the outbox are empty, so it returns
once everything the bot did about it has been sent.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from cryptography.fernet import Fernet

from botperms.app import App
from botperms.bot import Bot
from botperms.config import Settings
from botperms.messenger import SIGNATURE_HEADER, sign_body
from botperms.store import InboxItem
from botperms.testing import events
from botperms.testing.browser import Browser
from botperms.testing.drive import BotFailed, Driver
from botperms.testing.fake_graph import FakeGraph
from botperms.testing.logins import LoginSide, Pending
from botperms.testing.page_inbox import PageInboxSide
from botperms.testing.people import APP_ID, PAGE_ID, PAGE_TOKEN, PUBLIC_URL, WWW_URL, Person, World
from botperms.testing.replies import Button, QuickReply, Replies


class ChatTester(LoginSide, PageInboxSide):
    """Drive ``bot`` as the people chatting with it: ``async with ChatTester(bot) as chat``.

    ``scopes``: the bot's default permissions (``BOTPERMS_SCOPES``); ``login_flow``:
    ``"web"`` or ``"account_link"``; ``settings``: any other setting by field name.
    ``raise_errors``: a handler that raises (its event dead-lettered) fails the call with
    :class:`BotFailed`; with False, what ``on_error`` sent is returned instead.
    """

    app_id = APP_ID
    page_id = PAGE_ID

    def __init__(
        self,
        bot: Bot,
        *,
        scopes: Sequence[str] = ("user_likes",),
        login_flow: str = "web",
        settings: Mapping[str, Any] | None = None,
        raise_errors: bool = True,
    ) -> None:
        self.bot = bot
        self._scopes = list(scopes)
        self._login_flow = login_flow
        self._overrides = dict(settings or {})
        self._raise_errors = raise_errors
        self.world = World(APP_ID, PAGE_ID, PAGE_TOKEN)
        self._folder: Path | None = None
        self._app: App | None = None
        self._web: httpx.ASGITransport | None = None
        self._browsers: dict[str, Browser] = {}
        self._pending: list[Pending] = []
        self._login_urls: dict[str, str] = {}
        self._link_urls: dict[str, str] = {}

    # -- lifetime ------------------------------------------------------------------------------
    async def __aenter__(self) -> ChatTester:
        self._folder = Path(tempfile.mkdtemp(prefix="botperms-chat-"))
        values: dict[str, Any] = {
            "app_id": APP_ID,
            "app_secret": "chat-tester-app-secret",
            "verify_token": "chat-tester-verify",
            "page_id": PAGE_ID,
            "page_token": PAGE_TOKEN,
            "public_url": PUBLIC_URL,
            "www_url": WWW_URL,
            "database_url": f"sqlite+aiosqlite:///{self._folder}/bot.db",
            "token_keys": Fernet.generate_key().decode(),
            "scopes": ",".join(self._scopes),
            "login_flow": self._login_flow,
            # One try: a failing handler is dead-lettered at once, with no retry to wait for.
            "handler_max_attempts": 1,
            "_env_file": None,
        }
        values.update(self._overrides)
        self.settings = Settings(**values)
        graph_base = f"{self.settings.graph_url.rstrip('/')}/{self.settings.graph_version}"
        self.graph = FakeGraph(self.world, graph_host=graph_base)
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.graph))
        self._app = App.build(self.settings, self.bot, http=http, run_workers=False)
        await self._app.start()
        self._web = httpx.ASGITransport(app=self._app.asgi())
        self._driver = Driver(self._app)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                await self._finish_pending()
        finally:
            for pending in self._pending:
                pending.task.cancel()
            for browser in self._browsers.values():
                await browser.aclose()
            if self._app is not None:
                await self._app.stop()
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)

    # -- what a person does in the chat -------------------------------------------------------
    def meet(self, psid: str, *, first_name: str, last_name: str = "Tester") -> Person:
        """Name the person behind ``psid`` (their user profile, and ``/me`` once logged in).
        Without it a person is called "Person <psid> Tester"."""
        person = self.world.person(psid)
        person.first_name, person.last_name = first_name, last_name
        return person

    async def say(self, text: str, *, psid: str = "1") -> Replies:
        """``psid`` sends a text message; returns what the bot sent back."""
        return await self.deliver(events.message(text), psid=psid)

    async def postback(self, payload: str, *, psid: str = "1", title: str | None = None) -> Replies:
        """``psid`` taps a postback button (or Get Started, or a menu item)."""
        return await self.deliver(events.postback(payload, title or payload), psid=psid)

    async def quick_reply(
        self, reply: QuickReply | str, *, psid: str = "1", title: str | None = None
    ) -> Replies:
        """``psid`` taps a quick reply: one the bot sent, or a payload (and its title)."""
        if isinstance(reply, QuickReply):
            payload, title = reply.payload or "", reply.title
        else:
            payload = reply
        return await self.deliver(events.message(title or payload, quick_reply=payload), psid=psid)

    async def tap(self, button: Button, *, psid: str = "1") -> Replies:
        """``psid`` taps a template button: a postback goes to the bot; a login button is
        :meth:`grant` of the bot's default scopes."""
        if button.type == "postback":
            return await self.postback(button.payload or "", psid=psid, title=button.title)
        if button.type == "web_url" and button.url:
            self._login_urls[psid] = button.url
            return await self.grant(psid, self._scopes)
        raise ValueError(f"tapping a {button.type} button is not simulated; use grant() or link()")

    async def deliver(
        self, body: Mapping[str, Any], *, psid: str | None = "1", standby: bool | None = None
    ) -> Replies:
        """Deliver any event (``{"reaction": {...}}``, ``{"app_roles": {...}}``) from
        ``psid`` (None: no sender). It arrives in ``standby[]`` while another app owns the
        thread, unless ``standby`` says otherwise."""
        await self._finish_pending()
        if psid is not None:
            self.world.person(psid)
        if standby is None:
            standby = psid is not None and self.world.owner(psid) != APP_ID
        item = events.event(PAGE_ID, psid, dict(body))
        return await self._after(
            self._post_webhook(events.delivery(PAGE_ID, [item], standby=standby))
        )

    # -- what was sent ---------------------------------------------------------------------------
    def sent(self, psid: str | None = None) -> Replies:
        """Everything the bot sent so far (to ``psid`` only, if given)."""
        bodies = [b for b in self.graph.sent if psid is None or _recipient(b) == psid]
        return Replies.read(bodies)

    async def inbox(self) -> list[InboxItem]:
        """Every event in the bot's inbox, oldest first (``kind``, ``status``, ``standby``)."""
        assert self._app is not None
        return await self._app.store.inbox_list()

    # -- machinery ---------------------------------------------------------------------------------
    async def _post_webhook(self, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        headers = {
            SIGNATURE_HEADER: sign_body(self.settings.app_secret.get_secret_value(), raw),
            "content-type": "application/json",
        }
        assert self._web is not None
        async with httpx.AsyncClient(transport=self._web, base_url=PUBLIC_URL) as client:
            response = await client.post("/webhook", content=raw, headers=headers)
        if response.status_code != 200:
            raise AssertionError(
                f"the webhook refused the event: {response.status_code} {response.text}"
            )

    async def _after(self, action: Awaitable[object]) -> Replies:
        """Run ``action``, drive the workers until idle, and return what was sent meanwhile."""
        start = len(self.graph.sent)
        await action
        dead = await self._driver.settle()
        bodies = self.graph.sent[start:]
        self._remember_buttons(bodies)
        if dead and self._raise_errors:
            raise BotFailed(dead)
        return Replies.read(bodies)


def _recipient(body: Mapping[str, Any]) -> str:
    return str((body.get("recipient") or {}).get("id", ""))

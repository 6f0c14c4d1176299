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

import asyncio
import json
import shutil
import tempfile
from collections.abc import Awaitable, Coroutine, Generator, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from cryptography.fernet import Fernet

from botperms.app import App
from botperms.bot import Bot
from botperms.config import Settings
from botperms.messenger import SIGNATURE_HEADER, sign_body
from botperms.store import InboxItem
from botperms.testing import events
from botperms.testing.browser import Arrival, Browser
from botperms.testing.drive import BotFailed, Driver
from botperms.testing.fake_graph import FakeGraph
from botperms.testing.page_inbox import PageInboxSide
from botperms.testing.people import Decision, Person, World
from botperms.testing.replies import Button, QuickReply, Replies

APP_ID, PAGE_ID, PAGE_TOKEN = "100000000000001", "200000000000002", "EAAtestpagetoken"
PUBLIC_URL = "https://bot.example.com"
WWW_URL = "https://www.facebook.com"


class Pending:
    """A login under way (what :meth:`ChatTester.grant` returns): ``await`` it for the
    bot's replies. Not awaited, the tester's next call waits for it (and raises its error)."""

    def __init__(self, task: asyncio.Task[Replies]) -> None:
        self.task = task
        self.awaited = False

    def __await__(self) -> Generator[Any, None, Replies]:
        self.awaited = True
        return self.task.__await__()


class ChatTester(PageInboxSide):
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

    # -- logins -----------------------------------------------------------------------------
    def grant(
        self,
        psid: str,
        scopes: Iterable[str],
        *,
        likes: Sequence[str | Mapping[str, Any]] | None = None,
        me: Mapping[str, Any] | None = None,
        edges: Mapping[str, Any] | None = None,
    ) -> Pending:
        """``psid`` logs in with Facebook and grants ``scopes`` (other scopes asked for are
        declined), through the latest login button the bot sent them (or a fresh link).
        ``likes``, ``me`` and ``edges`` seed what their user token reads: liked Pages (names
        or rows), extra ``/me`` fields, other edges (a list is paged).

        ``await`` it for what the bot sent after the login (its ``on_login`` messages, the
        request that waited for it); without ``await``, the tester's next call waits for it."""
        person = self.world.person(psid)
        person.seed(likes=likes, me=me, edges=edges)
        decision = Decision(grant=frozenset(scopes))
        return self._schedule(self._web_login(person, decision))

    def decline(self, psid: str, scopes: Iterable[str]) -> Pending:
        """``psid`` logs in but declines ``scopes`` (granting the rest asked for)."""
        person = self.world.person(psid)
        refused = frozenset(scopes)
        decision = Decision(grant=frozenset(self._scopes) - refused, decline=refused)
        return self._schedule(self._web_login(person, decision))

    def cancel_login(self, psid: str) -> Pending:
        """``psid`` opens the login and presses Cancel: ``on_login_failed`` with
        ``access_denied``."""
        return self._schedule(self._web_login(self.world.person(psid), Decision(cancel=True)))

    async def link(self, psid: str, scopes: Iterable[str] | None = None, **seed: Any) -> Replies:
        """Account linking: ``psid`` taps the ``account_link`` button, grants ``scopes`` (the
        bot's default if None) and Messenger sends the ``linked`` webhook with our
        authorization_code. Takes the same Graph data as :meth:`grant`."""
        await self._finish_pending()
        person = self.world.person(psid)
        person.seed(likes=seed.get("likes"), me=seed.get("me"), edges=seed.get("edges"))
        wanted = frozenset(self._scopes if scopes is None else scopes)
        token = self.world.issue_linking_token(psid)
        redirect_uri = f"{WWW_URL}/messenger_platform/account_linking/?" + urlencode(
            {"account_linking_token": token}
        )
        start = self._link_urls.pop(psid, None) or self.settings.url("/link/start")
        query = urlencode({"account_linking_token": token, "redirect_uri": redirect_uri})
        url = f"{start}{'&' if '?' in start else '?'}{query}"
        arrivals: list[Arrival] = []

        async def open_link() -> None:
            arrivals.append(await self._browser(psid).open(url, person, Decision(grant=wanted)))

        replies = await self._after(open_link())  # a failed login's on_login_failed, if so
        code = dict(parse_qsl(urlsplit(arrivals[0].url).query)).get("authorization_code")
        if code is None:
            return replies
        person.linked = True
        linked = {"account_linking": {"status": "linked", "authorization_code": code}}
        more = await self.deliver(linked, psid=psid)
        return Replies(replies.messages + more.messages, replies.actions + more.actions)

    async def unlink(self, psid: str) -> Replies:
        """``psid`` unlinks their account in Messenger: the ``unlinked`` webhook."""
        self.world.person(psid).linked = False
        return await self.deliver({"account_linking": {"status": "unlinked"}}, psid=psid)

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
    def _schedule(self, work: Coroutine[Any, Any, Replies]) -> Pending:
        pending = Pending(asyncio.get_running_loop().create_task(work))
        self._pending.append(pending)
        return pending

    async def _finish_pending(self) -> None:
        while self._pending:
            pending = self._pending.pop(0)
            if pending.awaited:  # its outcome went to whoever awaited it
                await asyncio.wait([pending.task])
            else:
                await pending.task

    async def _web_login(self, person: Person, decision: Decision) -> Replies:
        psid = person.psid
        url = self._login_urls.pop(psid, None)
        if url is None:
            assert self._app is not None
            scopes = tuple(decision.grant | decision.decline) or tuple(self._scopes)
            url = self._app.login.login_url(PAGE_ID, psid, scopes)
        opened: Awaitable[Arrival] = self._browser(psid).open(url, person, decision)
        return await self._after(opened)

    def _browser(self, psid: str) -> Browser:
        if psid not in self._browsers:
            assert self._web is not None
            self._browsers[psid] = Browser(self._web, self.graph, public_url=PUBLIC_URL)
        return self._browsers[psid]

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

    def _remember_buttons(self, bodies: list[dict[str, Any]]) -> None:
        # The person's next grant()/link() taps the latest login button they were sent.
        login_start = self.settings.url("/auth/start")
        for reply in Replies.read(bodies):
            for button in reply.buttons:
                if button.type == "web_url" and (button.url or "").startswith(login_start):
                    self._login_urls[reply.psid] = button.url or ""
                elif button.type == "account_link" and button.url:
                    self._link_urls[reply.psid] = button.url


def _recipient(body: Mapping[str, Any]) -> str:
    return str((body.get("recipient") or {}).get("id", ""))

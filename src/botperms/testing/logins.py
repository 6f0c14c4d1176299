"""Logins in a :class:`~botperms.testing.ChatTester` conversation: the person grants,
declines or cancels in the Login dialog, or links their account, through the bot's real
``/auth`` and ``/link`` pages and the fake Facebook's dialog (:mod:`botperms.testing.browser`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Generator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from botperms.app import App
from botperms.config import Settings
from botperms.testing.browser import Arrival, Browser
from botperms.testing.fake_graph import FakeGraph
from botperms.testing.people import PAGE_ID, PUBLIC_URL, WWW_URL, Decision, Person, World
from botperms.testing.replies import Replies


class Pending:
    """A login under way (what :meth:`ChatTester.grant` returns): ``await`` it for the
    bot's replies. Not awaited, the tester's next call waits for it (and raises its error)."""

    def __init__(self, task: asyncio.Task[Replies]) -> None:
        self.task = task
        self.awaited = False

    def __await__(self) -> Generator[Any, None, Replies]:
        self.awaited = True
        return self.task.__await__()


class LoginSide:
    """Mixed into ``ChatTester``, which sets these up."""

    world: World
    settings: Settings
    graph: FakeGraph
    _scopes: list[str]
    _app: App | None
    _web: httpx.ASGITransport | None
    _browsers: dict[str, Browser]
    _pending: list[Pending]
    _login_urls: dict[str, str]
    _link_urls: dict[str, str]

    if TYPE_CHECKING:  # provided by ChatTester

        async def deliver(
            self, body: Mapping[str, Any], *, psid: str | None = "1", standby: bool | None = None
        ) -> Replies: ...

        async def _after(self, action: Awaitable[object]) -> Replies: ...

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

    def _remember_buttons(self, bodies: list[dict[str, Any]]) -> None:
        # The person's next grant()/link() taps the latest login button they were sent.
        login_start = self.settings.url("/auth/start")
        for reply in Replies.read(bodies):
            for button in reply.buttons:
                if button.type == "web_url" and (button.url or "").startswith(login_start):
                    self._login_urls[reply.psid] = button.url or ""
                elif button.type == "account_link" and button.url:
                    self._link_urls[reply.psid] = button.url

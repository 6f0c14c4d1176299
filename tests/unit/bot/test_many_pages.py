"""Many pages in the bot layer: events of a known page are answered, ``ctx.page_id`` and
``ctx.page_graph`` follow the event, the user profile and unlinking use the event's page token,
and an unknown page's events are kept but not handled."""

from __future__ import annotations

import httpx
import pytest

from botperms.bot import Bot, Context
from botperms.bot.dispatcher import Dispatcher
from botperms.bot.runtime import Runtime
from botperms.graph import GraphClient
from botperms.messenger import MessagingEvent
from botperms.store import PageDirectory, Send, Store
from tests.unit.bot.conftest import PAGE_ID, PAGE_TOKEN, FakeGraph, Harness, LinkMaker

OTHER_ID = "333"
OTHER_TOKEN = "EAAotherpagetoken0123456789abcdef"


def message(page_id: str, psid: str, body: str) -> MessagingEvent:
    return MessagingEvent.model_validate(
        {
            "sender": {"id": psid},
            "recipient": {"id": page_id},
            "timestamp": 1000,
            "message": {"mid": f"m-{page_id}-{psid}", "text": body},
        }
    )


class PagesGraph(FakeGraph):
    """FakeGraph whose ``/me`` is the page the token belongs to, as on Facebook."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/me"):
            self.requests.append(request)
            page = {PAGE_TOKEN: PAGE_ID, OTHER_TOKEN: OTHER_ID}[request.url.params["access_token"]]
            return httpx.Response(200, json={"id": page, "name": f"Page {page}"})
        return super().__call__(request)


@pytest.fixture
def facebook() -> FakeGraph:
    return PagesGraph()


@pytest.fixture
async def pages(store: Store) -> PageDirectory:
    await store.page_save(OTHER_ID, "Other page", OTHER_TOKEN, ["messages"])
    return PageDirectory(store, shortcut={PAGE_ID: PAGE_TOKEN})


@pytest.fixture
def many(
    graph: GraphClient, store: Store, links: LinkMaker, pages: PageDirectory, bot: Bot
) -> Harness:
    runtime = Runtime(
        graph=graph,
        store=store,
        page_token=PAGE_TOKEN,
        default_scopes=("user_likes",),
        login_links=links,
        pages=frozenset({PAGE_ID}),
        directory=pages,
    )
    return Harness(Dispatcher(bot, runtime), store)


async def test_each_event_is_answered_as_its_own_page(
    bot: Bot, many: Harness, facebook: FakeGraph
) -> None:
    seen: list[tuple[str, str]] = []

    @bot.on_message()
    async def hello(ctx: Context) -> None:
        me = await ctx.page_graph.get("/me", params={"fields": "id,name"})
        profile = await ctx.user_profile()
        seen.append((ctx.page_id, me["id"]))
        await ctx.reply(f"{profile.first_name if profile else '?'} on {ctx.page_id}")

    facebook.routes[("GET", "/alice")] = httpx.Response(200, json={"first_name": "Alice"})
    first = await many.handle(message(PAGE_ID, "alice", "hi"))
    second = await many.handle(message(OTHER_ID, "alice", "hi"))
    assert seen == [(PAGE_ID, PAGE_ID), (OTHER_ID, OTHER_ID)]
    sends = [effect for effect in [*first, *second] if isinstance(effect, Send)]
    assert [(send.page_id, send.payload["text"]) for send in sends] == [
        (PAGE_ID, f"Alice on {PAGE_ID}"),
        (OTHER_ID, f"Alice on {OTHER_ID}"),
    ]
    # The User Profile API was asked with each page's own token.
    tokens = [r.url.params["access_token"] for r in facebook.calls("GET", "/alice")]
    assert tokens == [PAGE_TOKEN, OTHER_TOKEN]


async def test_an_unknown_page_is_kept_but_not_answered(bot: Bot, many: Harness) -> None:
    handled: list[str] = []

    @bot.on_message()
    async def hello(ctx: Context) -> None:
        handled.append(ctx.page_id)

    assert await many.handle(message("444", "alice", "hi")) == []
    assert await many.handle(message(OTHER_ID, "alice", "hi")) == []
    assert handled == [OTHER_ID]


async def test_a_page_added_while_running_is_answered_and_a_removed_one_is_not(
    bot: Bot, store: Store, many: Harness, pages: PageDirectory
) -> None:
    handled: list[str] = []

    @bot.on_message()
    async def hello(ctx: Context) -> None:
        handled.append(ctx.page_id)

    await many.handle(message(OTHER_ID, "alice", "hi"))
    await store.page_save("555", "Newcomer", "EAAnewcomerpagetoken012345678", ["messages"])
    await pages.refresh()  # what the directory does on its own within miss_seconds
    await many.handle(message("555", "bob", "hi"))
    await store.page_remove(OTHER_ID)
    await pages.refresh()
    await many.handle(message(OTHER_ID, "carol", "hi"))
    assert handled == [OTHER_ID, "555"]

"""``ctx.log_out``: one call that leaves the right way for how the person logged in, and a
context that shows a handler neither the store nor the page token."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from botperms import Context
from botperms.bot.runtime import Runtime
from botperms.store import Store
from tests.unit.bot.conftest import (
    PAGE_ID,
    PAGE_TOKEN,
    USER_TOKEN,
    FakeGraph,
    commit,
    grant,
    proof,
    text,
)

UNLINK = ("POST", "/me/unlink_accounts")
PERMISSIONS = ("DELETE", "/me/permissions")


@pytest.fixture(autouse=True)
def facebook_answers(facebook: FakeGraph) -> None:
    facebook.routes[UNLINK] = httpx.Response(200, json={"result": "unlink account success"})
    facebook.routes[PERMISSIONS] = httpx.Response(200, json={"success": True})


def linking(runtime: Runtime) -> Runtime:
    return replace(runtime, login_flow="account_link", link_url="https://bot.test/link")


@pytest.mark.parametrize("on_facebook", [False, True])
@pytest.mark.parametrize("bot_flow", ["web", "account_link"])
async def test_a_web_login_is_revoked_and_never_unlinked(
    runtime: Runtime, store: Store, facebook: FakeGraph, on_facebook: bool, bot_flow: str
) -> None:
    # In the account_link flow, a person on a computer logs in through the web button: their
    # grant says "web", and there is no Messenger link to undo.
    record = await grant(store, flow="web")
    used = linking(runtime) if bot_flow == "account_link" else runtime
    ctx = Context(used, PAGE_ID, "alice", text("log out"), record)
    assert await ctx.log_out(on_facebook=on_facebook) is True
    await commit(store, ctx)
    assert await store.active_grant(PAGE_ID, "alice") is None
    assert facebook.calls(*UNLINK) == []
    removed = facebook.calls(*PERMISSIONS)
    assert len(removed) == (1 if on_facebook else 0)
    if on_facebook:
        assert removed[0].url.params["access_token"] == USER_TOKEN
        assert removed[0].url.params["appsecret_proof"] == proof(USER_TOKEN)


@pytest.mark.parametrize("on_facebook", [False, True])
async def test_an_account_linked_person_is_unlinked_on_messenger(
    runtime: Runtime, store: Store, facebook: FakeGraph, on_facebook: bool
) -> None:
    record = await grant(store, flow="account_link")
    ctx = Context(linking(runtime), PAGE_ID, "alice", text("log out"), record)
    assert await ctx.log_out(on_facebook=on_facebook) is True
    await commit(store, ctx)
    assert await store.active_grant(PAGE_ID, "alice") is None
    [unlink] = facebook.calls(*UNLINK)
    assert unlink.url.params["access_token"] == PAGE_TOKEN  # the page unlinks, not the person
    assert len(facebook.calls(*PERMISSIONS)) == (1 if on_facebook else 0)


async def test_log_out_keeps_facebook_alone_by_default(
    runtime: Runtime, store: Store, facebook: FakeGraph
) -> None:
    ctx = Context(runtime, PAGE_ID, "alice", text("log out"), await grant(store))
    assert await ctx.log_out() is True
    assert facebook.requests == []


async def test_without_a_grant_only_the_account_link_flow_calls_facebook(
    runtime: Runtime, store: Store, facebook: FakeGraph
) -> None:
    web = Context(runtime, PAGE_ID, "alice", text("log out"), None)
    assert await web.log_out(on_facebook=True) is False
    assert facebook.requests == []
    # A link may outlive an expired token: unlinking it is what "log out" means there.
    linked = Context(linking(runtime), PAGE_ID, "alice", text("log out"), None)
    assert await linked.log_out(on_facebook=True) is False
    assert len(facebook.calls(*UNLINK)) == 1
    assert facebook.calls(*PERMISSIONS) == []  # no token to remove permissions with


async def test_a_context_shows_no_store_and_no_page_token(runtime: Runtime, store: Store) -> None:
    ctx = Context(runtime, PAGE_ID, "alice", text("hi"), await grant(store))
    public = {name for name in dir(ctx) if not name.startswith("_")}
    assert public.isdisjoint({"runtime", "store", "page_token", "graph"})
    for name in public - {"user_token", "user_graph"}:  # the person's own, documented
        value = getattr(ctx, name)
        assert not isinstance(value, Store | Runtime), name
        assert value != PAGE_TOKEN, name

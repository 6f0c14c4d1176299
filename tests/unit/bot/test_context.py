"""Context: replies via the outbox, the login prompt, the profile, user_graph and revoke."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from botperms.bot import Context, NotGranted
from botperms.bot.runtime import Runtime
from botperms.messenger import InvalidMessage, generic_element, postback_button, quick_reply
from botperms.store import GrantRecord, Store
from botperms.store.models import Grant
from tests.unit.bot.conftest import (
    DEFAULT_SCOPES,
    PAGE_ID,
    PAGE_TOKEN,
    USER_TOKEN,
    FakeGraph,
    LinkMaker,
    commit,
    grant,
    graph_error,
    proof,
    text,
    waiting_request_and_login_in_progress,
)

PROFILE_PATH = ("GET", "/alice")


# Contexts made by `alice`, whose staged effects `queued` commits first, as the worker does
# once a handler has returned.
_made: list[Context] = []


@pytest.fixture(autouse=True)
def _forget_made() -> None:
    _made.clear()


def alice(runtime: Runtime, *, with_grant: GrantRecord | None = None) -> Context:
    ctx = Context(runtime, PAGE_ID, "alice", text("hi"), with_grant)
    _made.append(ctx)
    return ctx


async def commit_made(store: Store) -> None:
    while _made:
        await commit(store, _made.pop(0))


async def queued(store: Store) -> list[dict[str, Any]]:
    await commit_made(store)
    items = await store.outbox_list(status="pending")
    assert all((item.page_id, item.psid) == (PAGE_ID, "alice") for item in items)
    assert all(item.messaging_type == "RESPONSE" for item in items)
    return [item.payload for item in items]


# -- reply ---------------------------------------------------------------------------------


async def test_reply_is_staged_and_queued_when_the_event_commits(
    runtime: Runtime, store: Store, facebook: FakeGraph
) -> None:
    ctx = alice(runtime)
    await ctx.reply("Hello!")
    assert await store.outbox_list() == []  # nothing is queued before the event commits
    assert await queued(store) == [{"text": "Hello!"}]
    assert facebook.requests == []  # sending is the outbox's job, not the handler's


async def test_reply_with_quick_replies(runtime: Runtime, store: Store) -> None:
    await alice(runtime).reply("Pick one", quick_replies=[("Red", "COLOR_RED"), ("Blue", "BLUE")])
    assert await queued(store) == [
        {
            "text": "Pick one",
            "quick_replies": [
                {"content_type": "text", "title": "Red", "payload": "COLOR_RED"},
                {"content_type": "text", "title": "Blue", "payload": "BLUE"},
            ],
        }
    ]


async def test_reply_with_a_ready_message(runtime: Runtime, store: Store) -> None:
    ctx = alice(runtime)
    await ctx.reply("first")
    await ctx.reply(
        message={"attachment": {"type": "image", "payload": {"url": "https://x.test/a.png"}}}
    )
    assert await queued(store) == [
        {"text": "first"},
        {"attachment": {"type": "image", "payload": {"url": "https://x.test/a.png"}}},
    ]


async def test_reply_needs_text_or_a_message(runtime: Runtime, store: Store) -> None:
    with pytest.raises(ValueError, match="needs text or message"):
        await alice(runtime).reply()
    with pytest.raises(InvalidMessage):
        await alice(runtime).reply("x" * 2001)  # over the Send API's 2000 characters
    assert await queued(store) == []


# -- the login prompt ------------------------------------------------------------------------


def login_button(url: str, title: str = "Log in with Facebook") -> dict[str, object]:
    return {"type": "web_url", "url": url, "title": title, "webview_height_ratio": "full"}


async def test_the_login_prompt_is_a_button_template_with_the_persons_name(
    runtime: Runtime, store: Store, facebook: FakeGraph, links: LinkMaker
) -> None:
    facebook.routes[PROFILE_PATH] = httpx.Response(
        200,
        json={
            "id": "alice",
            "first_name": "Alice",
            "last_name": "Example",
            "name": "Alice Example",
        },
    )
    await alice(runtime).send_login_prompt()

    assert links.calls == [
        {
            "page_id": PAGE_ID,
            "psid": "alice",
            "scopes": DEFAULT_SCOPES,
            "auth_type": None,
            "display_name": "Alice E.",
        }
    ]
    assert await queued(store) == [
        {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "button",
                    "text": "To do that I need your permission on Facebook.",
                    "buttons": [login_button("https://bot.test/auth/start?ticket=t1")],
                },
            }
        }
    ]
    [profile] = facebook.requests
    assert profile.url.params["access_token"] == PAGE_TOKEN
    assert profile.url.params["appsecret_proof"] == proof(PAGE_TOKEN)
    assert profile.url.params["fields"] == "first_name,last_name,name,profile_pic"


async def test_the_login_prompt_passes_scopes_auth_type_and_title(
    runtime: Runtime, store: Store, facebook: FakeGraph, links: LinkMaker
) -> None:
    facebook.routes[PROFILE_PATH] = httpx.Response(200, json={"id": "alice", "first_name": "Alice"})
    await alice(runtime).send_login_prompt(
        "Share your likes?",
        scopes=["email", "user_likes"],
        auth_type="rerequest",
        button_title="Share my likes",
    )
    [call] = links.calls
    assert (call["scopes"], call["auth_type"], call["display_name"]) == (
        ("email", "user_likes"),
        "rerequest",
        "Alice",
    )
    [payload] = await queued(store)
    template = payload["attachment"]["payload"]
    assert template["text"] == "Share your likes?"
    assert template["buttons"] == [
        login_button("https://bot.test/auth/start?ticket=t1", "Share my likes")
    ]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(graph_error(551, message="This person isn't available"), id="551"),
        pytest.param(graph_error(230, message="Requires pages_messaging permission"), id="230"),
        pytest.param(httpx.Response(500, text="oops"), id="http-500"),
    ],
)
async def test_the_login_prompt_goes_out_without_a_name_when_the_profile_fails(
    runtime: Runtime, store: Store, facebook: FakeGraph, links: LinkMaker, answer: httpx.Response
) -> None:
    facebook.routes[PROFILE_PATH] = answer
    await alice(runtime).send_login_prompt()
    [call] = links.calls
    assert call["display_name"] is None
    [payload] = await queued(store)
    assert payload["attachment"]["payload"]["buttons"] == [
        login_button("https://bot.test/auth/start?ticket=t1")
    ]


@pytest.mark.parametrize(
    ("profile", "display_name"),
    [
        ({"first_name": "Alice", "last_name": "Example"}, "Alice E."),
        ({"first_name": "Alice", "name": "Alice Example"}, "Alice"),
        ({"name": "Alice Example"}, "Alice Example"),
        ({}, None),
    ],
)
async def test_the_display_name_uses_what_the_profile_shares(
    runtime: Runtime,
    facebook: FakeGraph,
    links: LinkMaker,
    profile: dict[str, str],
    display_name: str | None,
) -> None:
    facebook.routes[PROFILE_PATH] = httpx.Response(200, json={"id": "alice", **profile})
    await alice(runtime).send_login_prompt()
    assert links.calls[0]["display_name"] == display_name


async def test_the_profile_is_fetched_once_per_context(
    runtime: Runtime, facebook: FakeGraph
) -> None:
    facebook.routes[PROFILE_PATH] = httpx.Response(200, json={"id": "alice", "first_name": "Alice"})
    ctx = alice(runtime)
    first = await ctx.user_profile()
    assert first is not None
    assert first.first_name == "Alice"
    assert await ctx.user_profile() is first
    assert len(facebook.requests) == 1


# -- the person's token ----------------------------------------------------------------------


async def test_user_graph_without_a_grant_raises_not_granted(
    runtime: Runtime, facebook: FakeGraph
) -> None:
    ctx = alice(runtime)
    with pytest.raises(NotGranted, match="alice has not logged in"):
        _ = ctx.user_graph
    with pytest.raises(NotGranted):
        _ = ctx.user_token
    assert facebook.requests == []


async def test_user_graph_calls_carry_the_token_and_appsecret_proof(
    runtime: Runtime, store: Store, facebook: FakeGraph
) -> None:
    record = await grant(store)
    facebook.routes[("GET", "/me/likes")] = httpx.Response(
        200, json={"data": [{"id": "1", "name": "Cats"}]}
    )
    ctx = alice(runtime, with_grant=record)
    assert ctx.user_token == USER_TOKEN
    assert await ctx.user_graph.get("/me/likes", params={"fields": "name"}) == {
        "data": [{"id": "1", "name": "Cats"}]
    }
    [request] = facebook.requests
    assert request.url.params["access_token"] == USER_TOKEN
    assert request.url.params["appsecret_proof"] == proof(USER_TOKEN)
    assert request.url.params["fields"] == "name"


async def revoke_reason(store: Store, grant_id: int) -> tuple[str, str | None]:
    async with store.db.session() as session:
        row = await session.scalar(select(Grant).where(Grant.id == grant_id))
        assert row is not None
        return row.status, row.revoke_reason


async def test_revoke_forgets_the_token_and_removes_the_permissions_on_facebook(
    runtime: Runtime, store: Store, facebook: FakeGraph
) -> None:
    record = await grant(store)
    facebook.routes[("DELETE", "/me/permissions")] = httpx.Response(200, json={"success": True})
    ctx = alice(runtime, with_grant=record)

    assert await ctx.revoke() is True
    await commit_made(store)
    assert await store.active_grant(PAGE_ID, "alice") is None
    assert await revoke_reason(store, record.id) == ("revoked", "logout")
    assert ctx.grant is None
    assert not ctx.has_scopes("user_likes")
    with pytest.raises(NotGranted):
        _ = ctx.user_graph
    [request] = facebook.calls("DELETE", "/me/permissions")
    assert request.url.params["access_token"] == USER_TOKEN
    assert request.url.params["appsecret_proof"] == proof(USER_TOKEN)
    assert len(facebook.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(graph_error(190, message="Error validating access token"), id="190"),
        pytest.param(httpx.Response(503, text="down"), id="http-503"),
    ],
)
async def test_revoke_still_forgets_the_token_when_facebook_fails(
    runtime: Runtime, store: Store, facebook: FakeGraph, answer: httpx.Response
) -> None:
    record = await grant(store)
    facebook.routes[("DELETE", "/me/permissions")] = answer
    ctx = alice(runtime, with_grant=record)
    assert await ctx.revoke(reason="token_invalid") is True
    await commit_made(store)
    assert await store.active_grant(PAGE_ID, "alice") is None
    assert await revoke_reason(store, record.id) == ("revoked", "token_invalid")
    assert facebook.calls("DELETE", "/me/permissions") != []


async def test_revoke_can_leave_facebook_alone(
    runtime: Runtime, store: Store, facebook: FakeGraph
) -> None:
    record = await grant(store)
    assert await alice(runtime, with_grant=record).revoke(on_facebook=False) is True
    await commit_made(store)
    assert await store.active_grant(PAGE_ID, "alice") is None
    assert facebook.requests == []


async def test_revoke_without_a_grant_does_nothing(
    runtime: Runtime, store: Store, facebook: FakeGraph
) -> None:
    await grant(store, "bob")
    assert await alice(runtime).revoke() is False
    await commit_made(store)
    assert await store.active_grant(PAGE_ID, "bob") is not None
    assert facebook.requests == []


async def test_revoke_also_ends_logins_in_progress_and_the_waiting_request(
    runtime: Runtime, store: Store
) -> None:
    record = await grant(store)
    await waiting_request_and_login_in_progress(store)
    assert await alice(runtime, with_grant=record).revoke(on_facebook=False) is True
    await commit_made(store)
    assert await store.pending_intent(PAGE_ID, "alice", now=datetime.now(UTC)) is None
    attempt = await store.get_attempt("s1")
    assert attempt is not None
    assert attempt.outcome == "cancelled:logout"


# -- reply variants and typing ---------------------------------------------------------------


async def test_reply_with_buttons_is_a_button_template(runtime: Runtime, store: Store) -> None:
    await alice(runtime).reply(
        "Pick one",
        buttons=[postback_button("Red", "RED"), postback_button("Blue", "BLUE")],
        quick_replies=[quick_reply("Later", "LATER")],
    )
    assert await queued(store) == [
        {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "button",
                    "text": "Pick one",
                    "buttons": [
                        {"type": "postback", "title": "Red", "payload": "RED"},
                        {"type": "postback", "title": "Blue", "payload": "BLUE"},
                    ],
                },
            },
            "quick_replies": [{"content_type": "text", "title": "Later", "payload": "LATER"}],
        }
    ]


async def test_reply_with_elements_is_a_generic_template(runtime: Runtime, store: Store) -> None:
    cards = [generic_element("Page one", "Liked in 2024"), generic_element("Page two")]
    await alice(runtime).reply(elements=cards)
    [message] = await queued(store)
    assert message["attachment"]["payload"] == {"template_type": "generic", "elements": cards}


async def test_reply_with_a_ready_message_and_quick_replies(runtime: Runtime, store: Store) -> None:
    image = {"attachment": {"type": "image", "payload": {"url": "https://x.test/a.png"}}}
    await alice(runtime).reply(message=image, quick_replies=[("More", "MORE")])
    assert await queued(store) == [
        {**image, "quick_replies": [{"content_type": "text", "title": "More", "payload": "MORE"}]}
    ]
    assert "quick_replies" not in image  # the caller's dict is left alone


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        pytest.param({"text": "x", "message": {"text": "y"}}, "takes no text", id="text+message"),
        pytest.param(
            {"elements": [generic_element("a")], "text": "x"}, "no text or buttons", id="el+text"
        ),
        pytest.param(
            {"buttons": [postback_button("a", "A")]}, "needs text or message", id="buttons-only"
        ),
    ],
)
async def test_reply_refuses_mixed_up_arguments(
    runtime: Runtime, store: Store, arguments: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        await alice(runtime).reply(**arguments)
    assert await queued(store) == []


async def test_reply_checks_messenger_limits_on_templates(runtime: Runtime, store: Store) -> None:
    with pytest.raises(InvalidMessage, match="at most 3"):
        await alice(runtime).reply("x", buttons=[postback_button("a", "A")] * 4)
    with pytest.raises(InvalidMessage, match="at most 13"):
        await alice(runtime).reply("x", quick_replies=[("a", "A")] * 14)
    assert await queued(store) == []


async def test_typing_is_queued_in_order_with_the_messages(
    runtime: Runtime, store: Store, facebook: FakeGraph
) -> None:
    ctx = alice(runtime)
    await ctx.typing()
    await ctx.reply("done")
    assert await queued(store) == [{"sender_action": "typing_on"}, {"text": "done"}]
    assert facebook.requests == []

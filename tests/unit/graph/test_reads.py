"""ctx.user_graph.me(), .likes() and .permissions(): the typed reads of a permissions bot."""

import dataclasses

import httpx
import pytest

from botperms.graph import GraphClient, LikedPage, Me, Permissions

from .conftest import GRAPH_BASE, Recorder

USER_TOKEN = "EAAUserTokenValue0123456789abcdef"


async def test_me(recorder: Recorder, graph: GraphClient) -> None:
    body = {"id": "10220000000000101", "name": "Alice Example", "first_name": "Alice"}
    recorder.queue(httpx.Response(200, json=body))
    me = await graph.for_token(USER_TOKEN).me()
    assert me == Me("10220000000000101", "Alice Example", "Alice", None, None)
    assert recorder.requests[0].url.path == "/v25.0/me"
    assert recorder.requests[0].url.params["fields"] == "id,name,first_name,last_name,email"
    with pytest.raises(dataclasses.FrozenInstanceError):
        me.name = "Mallory"  # type: ignore[misc]


async def test_likes_across_short_pages(recorder: Recorder, graph: GraphClient) -> None:
    when = "2019-01-01T00:00:00+0000"
    rows = [{"id": str(i), "name": f"P{i}", "created_time": when} for i in range(7)]
    link = f"{GRAPH_BASE}/me/likes?after=C"
    recorder.queue(
        httpx.Response(200, json={"data": rows[:3], "paging": {"next": link + "3"}}),
        # A row Facebook could send without an id is skipped, not a crash.
        httpx.Response(
            200, json={"data": [{"name": "?"}, *rows[3:6]], "paging": {"next": link + "6"}}
        ),
        httpx.Response(200, json={"data": rows[6:]}),
    )
    likes = await graph.for_token(USER_TOKEN).likes(limit=5)
    assert [page.id for page in likes] == ["0", "1", "2", "3"]  # the id-less row counted
    assert likes[0] == LikedPage("0", "P0", "2019-01-01T00:00:00+0000")
    first = recorder.requests[0]
    assert first.url.params["fields"] == "name,created_time"
    assert first.url.params["limit"] == "5"


async def test_permissions(recorder: Recorder, graph: GraphClient) -> None:
    body = {
        "data": [
            {"permission": "public_profile", "status": "granted"},
            {"permission": "user_likes", "status": "declined"},
            {"permission": "email", "status": "expired"},
            {"status": "granted"},
        ]
    }
    recorder.queue(httpx.Response(200, json=body))
    permissions = await graph.for_token(USER_TOKEN).permissions()
    assert permissions == Permissions(("public_profile",), ("user_likes",), (("email", "expired"),))
    assert permissions.has("public_profile")
    assert not permissions.has("public_profile", "user_likes")
    assert recorder.requests[0].url.path == "/v25.0/me/permissions"

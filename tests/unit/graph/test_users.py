import httpx
import pytest

from botperms.graph import LikedPage
from botperms.graph.client import GraphClient
from botperms.graph.users import UserProfile, get_likes, get_user_profile

from .conftest import GRAPH_BASE, Recorder

PAGE_TOKEN = "EAAPageTokenValue0123456789abcdef"
USER_TOKEN = "EAAUserTokenValue0123456789abcdef"


def likes(*ids: int, next_url: str | None = None, after: str | None = None) -> httpx.Response:
    data = [
        {"id": str(i), "name": f"Page {i}", "created_time": "2019-01-01T00:00:00+0000"} for i in ids
    ]
    paging: dict[str, object] = {}
    if after:
        paging["cursors"] = {"before": "B", "after": after}
    if next_url:
        paging["next"] = next_url
    return httpx.Response(200, json={"data": data, "paging": paging, "summary": {}})


async def test_get_user_profile(recorder: Recorder, graph: GraphClient) -> None:
    body = {
        "first_name": "Peter",
        "last_name": "Chang",
        "profile_pic": "https://x/p.jpg",
        "id": "555",
    }
    recorder.queue(httpx.Response(200, json=body))
    profile = await get_user_profile(graph, PAGE_TOKEN, "555")
    assert profile == UserProfile("555", "Peter", "Chang", None, "https://x/p.jpg")
    request = recorder.requests[0]
    assert request.url.path == "/v25.0/555"
    assert request.url.params["fields"] == "first_name,last_name,name,profile_pic"
    assert request.url.params["access_token"] == PAGE_TOKEN


async def test_get_user_profile_empty_answer(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, json={}))
    assert await get_user_profile(graph, PAGE_TOKEN, "555") == UserProfile(
        "555", None, None, None, None
    )


async def test_get_user_profile_rejects_path_tricks(graph: GraphClient) -> None:
    with pytest.raises(ValueError, match="psid"):
        await get_user_profile(graph, PAGE_TOKEN, "555/likes")


async def test_get_likes_follows_next(recorder: Recorder, graph: GraphClient) -> None:
    next_url = f"{GRAPH_BASE}/9001/likes?access_token=STALE&limit=2&after=QQ"
    recorder.queue(likes(1, 2, next_url=next_url, after="QQ"), likes(3, 4))
    pages = await get_likes(graph, USER_TOKEN, limit=10, page_size=2)
    assert [p.id for p in pages] == ["1", "2", "3", "4"]
    assert pages[0] == LikedPage("1", "Page 1", "2019-01-01T00:00:00+0000")
    first, second = recorder.requests
    assert first.url.params["limit"] == "2"
    assert first.url.params["fields"] == "name,created_time"
    assert second.url.params["after"] == "QQ"
    assert second.url.params.get_list("access_token") == [USER_TOKEN]


async def test_get_likes_stops_without_next(recorder: Recorder, graph: GraphClient) -> None:
    # Facebook: no `next` means the last page, even though `cursors.after` is still there.
    recorder.queue(likes(1, after="C1"))
    pages = await get_likes(graph, USER_TOKEN, limit=5, page_size=1)
    assert [p.id for p in pages] == ["1"]
    assert len(recorder.requests) == 1


async def test_get_likes_stops_at_limit(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(likes(1, 2, 3, after="C1"))
    pages = await get_likes(graph, USER_TOKEN, limit=2)
    assert [p.id for p in pages] == ["1", "2"]
    assert len(recorder.requests) == 1


async def test_get_likes_stops_on_repeating_cursor(recorder: Recorder, graph: GraphClient) -> None:
    again = f"{GRAPH_BASE}/me/likes?after=SAME"
    recorder.queue(likes(1, after="SAME", next_url=again), likes(2, after="SAME", next_url=again))
    pages = await get_likes(graph, USER_TOKEN, limit=10)
    assert [p.id for p in pages] == ["1", "2"]
    assert len(recorder.requests) == 2


async def test_get_likes_zero_limit(recorder: Recorder, graph: GraphClient) -> None:
    assert await get_likes(graph, USER_TOKEN, limit=0) == []
    assert recorder.requests == []

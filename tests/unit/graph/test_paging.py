"""paginate: pages of 3, short pages, repeating cursors, foreign hosts, errors, the bounds."""

from typing import Any

import httpx
import pytest

from botperms.graph import GraphClient, InvalidParameterError, PagingError
from botperms.graph.paging import MAX_PAGE_SIZE

from .conftest import GRAPH_BASE, Recorder

USER_TOKEN = "EAAUserTokenValue0123456789abcdef"
PAGE_TOKEN = "EAAPageTokenValue0123456789abcdef"


def page(
    ids: range | list[int], *, after: str | None = None, next_url: str | None = None
) -> httpx.Response:
    paging: dict[str, Any] = {}
    if after is not None:
        paging["cursors"] = {"before": "B", "after": after}
    if next_url is not None:
        paging["next"] = next_url
    body = {"data": [{"id": str(i), "name": f"Page {i}"} for i in ids], "paging": paging}
    return httpx.Response(200, json=body)


def by_threes(total: int, base: str = GRAPH_BASE) -> list[httpx.Response]:
    """What a server paging by 3 answers for `total` items, `next` links on `base`."""
    pages = []
    for start in range(0, total, 3):
        end = min(start + 3, total)
        after = f"C{end}"
        link = f"{base}/4242/likes?access_token=STALE&limit=3&after={after}"
        pages.append(page(range(start, end), after=after, next_url=link if end < total else None))
    return pages


async def drain(graph: GraphClient, into: list[str]) -> None:
    async for row in graph.paginate("/me/likes", access_token=USER_TOKEN, limit=10):
        into.append(row["id"])


async def collect(graph: GraphClient, path: str = "/me/likes", **options: Any) -> list[str]:
    options.setdefault("access_token", USER_TOKEN)
    return [str(row["id"]) async for row in graph.paginate(path, **options)]


async def test_pages_of_three_give_the_first_ten(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(*by_threes(42))
    ids = await collect(graph, params={"fields": "name"}, limit=10)
    assert ids == [str(i) for i in range(10)]
    assert len(recorder.requests) == 4  # 3 + 3 + 3 + 1 of the fourth page
    first, *rest = recorder.requests
    assert first.url.path == "/v25.0/me/likes"
    assert first.url.params["limit"] == "10"  # asked for 10; the server gave 3
    assert first.url.params["fields"] == "name"
    for request, after in zip(rest, ["C3", "C6", "C9"], strict=True):
        assert request.url.path == "/v25.0/4242/likes"  # the `next` link, as given
        assert request.url.params["after"] == after
        # The stale token inside the link is replaced by ours, never sent twice.
        assert request.url.params.get_list("access_token") == [USER_TOKEN]
        assert "appsecret_proof" in request.url.params


async def test_fewer_than_limit_in_all(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(*by_threes(5))
    assert await collect(graph, limit=10) == ["0", "1", "2", "3", "4"]
    assert len(recorder.requests) == 2


async def test_no_next_is_the_last_page_even_with_a_cursor(
    recorder: Recorder, graph: GraphClient
) -> None:
    recorder.queue(page(range(2), after="C2"))
    assert await collect(graph, limit=10) == ["0", "1"]
    assert len(recorder.requests) == 1


async def test_an_empty_page_with_next_is_not_the_end(
    recorder: Recorder, graph: GraphClient
) -> None:
    # Facebook can filter a whole page out for privacy and still link the next one.
    link = f"{GRAPH_BASE}/me/likes?after=C0"
    recorder.queue(page([], after="C0", next_url=link), page([7]))
    assert await collect(graph, limit=10) == ["7"]


async def test_a_repeating_cursor_stops_the_walk(recorder: Recorder, graph: GraphClient) -> None:
    again = f"{GRAPH_BASE}/me/likes?after=SAME"
    recorder.queue(page([1], after="SAME", next_url=again), page([2], after="SAME", next_url=again))
    assert await collect(graph, limit=100) == ["1", "2"]
    assert len(recorder.requests) == 2


async def test_a_cursor_cycle_stops_the_walk(recorder: Recorder, graph: GraphClient) -> None:
    # A -> B -> A: the third link asks for a request already made.
    link_a, link_b = f"{GRAPH_BASE}/me/likes?after=A", f"{GRAPH_BASE}/me/likes?after=B"
    recorder.queue(
        page([1], next_url=link_a), page([2], next_url=link_b), page([3], next_url=link_a)
    )
    assert await collect(graph, limit=100) == ["1", "2", "3"]
    assert len(recorder.requests) == 3


async def test_foreign_next_is_rebuilt_from_the_cursor(
    recorder: Recorder, graph: GraphClient
) -> None:
    evil = "https://evil.example/v25.0/me/likes?after=C3&access_token=STALE"
    recorder.queue(page(range(3), after="C3", next_url=evil), page(range(3, 5)))
    ids = await collect(graph, params={"fields": "name"}, limit=10, page_size=3)
    assert ids == ["0", "1", "2", "3", "4"]
    second = recorder.requests[1]
    assert second.url.host == "graph.test"
    assert second.url.path == "/v25.0/me/likes"
    assert dict(second.url.params) | {"appsecret_proof": "-"} == {
        "fields": "name",
        "limit": "3",
        "after": "C3",
        "access_token": USER_TOKEN,
        "appsecret_proof": "-",
    }
    assert all(request.url.host == "graph.test" for request in recorder.requests)


@pytest.mark.parametrize(
    "link",
    [
        "http://graph.test/v25.0/me/likes?after=C3",  # same host, but plain http
        "https://graph.test:8443/v25.0/me/likes?after=C3",  # same host, other port
        "https://graph.test.evil.example/v25.0/me/likes?after=C3",
    ],
)
async def test_lookalike_origins_are_foreign(
    recorder: Recorder, graph: GraphClient, link: str
) -> None:
    recorder.queue(page([1], next_url=link), page([2]))
    assert await collect(graph, limit=10) == ["1", "2"]
    assert str(recorder.requests[1].url).startswith(f"{GRAPH_BASE}/me/likes?")
    assert recorder.requests[1].url.params["after"] == "C3"


async def test_foreign_next_without_a_cursor_is_refused(
    recorder: Recorder, graph: GraphClient
) -> None:
    recorder.queue(page([1, 2], next_url="https://evil.example/next?page=2"))
    seen: list[str] = []
    with pytest.raises(PagingError) as raised:
        await drain(graph, seen)
    assert seen == ["1", "2"]  # what came before the refusal was already handed out
    assert len(recorder.requests) == 1
    assert USER_TOKEN not in str(raised.value)


async def test_an_error_midway_raises_after_the_earlier_items(
    recorder: Recorder, graph: GraphClient
) -> None:
    error = {"error": {"message": "Invalid cursor", "type": "OAuthException", "code": 100}}
    recorder.queue(*by_threes(9)[:1], httpx.Response(400, json=error))
    seen: list[str] = []
    with pytest.raises(InvalidParameterError):
        await drain(graph, seen)
    assert seen == ["0", "1", "2"]


async def test_a_transient_error_midway_is_retried(recorder: Recorder, graph: GraphClient) -> None:
    first, second = by_threes(6)
    recorder.queue(first, httpx.Response(503, text="busy"), second)
    assert await collect(graph, limit=10) == [str(i) for i in range(6)]
    assert len(recorder.sleeps) == 1


async def test_max_pages_bounds_a_server_that_never_ends(
    recorder: Recorder, graph: GraphClient
) -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("after", "0"))
        return page([], after=str(n + 1), next_url=f"{GRAPH_BASE}/me/likes?after={n + 1}")

    recorder.queue(*[endless] * 50)
    assert await collect(graph, limit=10, max_pages=5) == []
    assert len(recorder.requests) == 5


async def test_default_bounds(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(*by_threes(500))
    ids = await collect(graph)
    assert len(ids) == 60  # 20 pages of 3, although the default limit of 100 was not reached
    assert recorder.requests[0].url.params["limit"] == str(MAX_PAGE_SIZE)


async def test_limit_stops_inside_a_page(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(*by_threes(42))
    assert await collect(graph, limit=4) == ["0", "1", "2", "3"]
    assert len(recorder.requests) == 2


async def test_own_page_size_param_wins(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(page([1]))
    await collect(graph, params={"limit": "7"}, limit=50, page_size=3)
    assert recorder.requests[0].url.params["limit"] == "7"


async def test_odd_bodies_end_the_walk(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, json={"data": [1, "x", {"id": "5"}], "paging": "?"}))
    assert await collect(graph) == ["5"]
    recorder.queue(httpx.Response(200, json=[{"id": "1"}]))
    assert await collect(graph) == []


@pytest.mark.parametrize("options", [{"limit": 0}, {"max_pages": 0}, {"page_size": 0}])
async def test_bounds_must_be_positive(graph: GraphClient, options: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="positive"):
        await collect(graph, **options)


async def test_bound_client_and_page_token(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(*by_threes(4), *by_threes(4))
    user = [row["id"] async for row in graph.for_token(USER_TOKEN).paginate("/me/likes")]
    page_ids = await collect(graph, "/me/conversations", access_token=PAGE_TOKEN)
    assert user == page_ids == ["0", "1", "2", "3"]
    tokens = [request.url.params["access_token"] for request in recorder.requests]
    assert tokens == [USER_TOKEN, USER_TOKEN, PAGE_TOKEN, PAGE_TOKEN]

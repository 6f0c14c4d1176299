"""Walking a paged Graph API list (``{"data": [...], "paging": {...}}``) item by item.

How the next page is found, and why:

- ``paging.next`` decides whether there is a next page. Facebook's rule is to stop when it no
  longer appears; a page can be empty and still have one, so an empty page does not stop the walk.
- A ``next`` link on the configured Graph API origin (scheme, host and port of
  ``BOTPERMS_GRAPH_URL``) is followed as it is; the client drops any token or proof it carries
  and adds its own.
- A ``next`` link pointing anywhere else never gets the token. The request is rebuilt against
  our own base from the ``after`` cursor (``paging.cursors.after``, or the link's ``after``
  parameter) with the original path and parameters. Without a cursor there is nothing safe to
  send, and the walk raises `PagingError`.
- A request that repeats one already made, or a cursor seen before, ends the walk: a server that
  hands out the same cursor again would otherwise loop for ever.
- ``limit`` items and ``max_pages`` requests bound every walk, whatever the server does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import structlog

from botperms.graph.errors import PagingError

if TYPE_CHECKING:
    from botperms.graph.client import GraphClient

log = structlog.get_logger(__name__)

# Facebook caps most edges at 100 items a page; asking for more only gets the cap.
MAX_PAGE_SIZE = 100
# Parameters that never take part in telling two requests apart (the client sets them itself).
_CREDENTIALS = frozenset({"access_token", "appsecret_proof", "appsecret_time"})

_Request = tuple[str, dict[str, str]]


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _request_key(client: GraphClient, path: str, params: Mapping[str, str]) -> tuple[Any, ...]:
    """What identifies a request, credentials left out, whether it is a path or a full URL."""
    query = dict(params)
    if path.startswith(("http://", "https://")):
        parts = urlsplit(path)
        query = {**dict(parse_qsl(parts.query, keep_blank_values=True)), **query}
        url = f"{parts.scheme}://{parts.netloc}{parts.path}".lower()
    else:
        url = f"{client.graph_base}/{path.lstrip('/')}".lower()
    return url, tuple(sorted((k, v) for k, v in query.items() if k not in _CREDENTIALS))


def _cursor_after(paging: Mapping[str, Any], next_url: str) -> str | None:
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, Mapping) else None
    if isinstance(after, str) and after:
        return after
    from_link = dict(parse_qsl(urlsplit(next_url).query)).get("after")
    return from_link or None


def next_request(
    client: GraphClient, body: Mapping[str, Any], path: str, params: Mapping[str, str]
) -> tuple[_Request | None, str | None]:
    """The request for the page after ``body`` (``None`` at the end) and the cursor it uses.

    ``path`` and ``params`` are those of the walk's first request: a rebuilt request starts
    from them.
    """
    paging = body.get("paging")
    if not isinstance(paging, Mapping):
        return None, None
    next_url = paging.get("next")
    if not isinstance(next_url, str) or not next_url:
        return None, None
    after = _cursor_after(paging, next_url)
    if next_url.startswith(("http://", "https://")) and _origin(next_url) == _origin(
        client.graph_base
    ):
        return (next_url, {}), after
    if after is None:
        raise PagingError(
            "the next page is linked outside the configured Graph API and has no cursor;"
            " the token is not sent there",
            endpoint=f"GET {urlsplit(path).path or path}",
        )
    log.warning("graph.paging_rebuilt", host=urlsplit(next_url).netloc, endpoint=path)
    return (path, {**params, "after": after}), after


async def paginate(
    client: GraphClient,
    path: str,
    *,
    access_token: str | None,
    params: Mapping[str, str] | None = None,
    limit: int = 100,
    page_size: int | None = None,
    max_pages: int = 20,
) -> AsyncIterator[dict[str, Any]]:
    """Yield the items of a paged list, one page request at a time, at most ``limit`` of them.

    Args:
        client: The Graph API client that makes each request.
        path: The edge, relative to the versioned Graph API (``"/me/likes"``).
        access_token: The token every request carries (with its ``appsecret_proof``).
        params: Query parameters of the first request, such as ``{"fields": "name"}``.
        limit: The most items to yield, across all pages.
        page_size: How many items to ask for per page (Graph's own ``limit`` parameter).
            By default ``limit``, capped at 100. A ``"limit"`` in ``params`` wins. Facebook may
            send fewer per page than asked; the walk just makes more requests.
        max_pages: The most requests to make, whatever the pages hold.

    Raises:
        ValueError: ``limit``, ``page_size`` or ``max_pages`` is not positive.
        GraphError: A request failed (after the client's retries). Items of the pages before it
            have already been yielded.
        PagingError: The next page is linked on another host and there is no cursor.
    """
    if limit < 1 or max_pages < 1 or (page_size is not None and page_size < 1):
        raise ValueError("limit, page_size and max_pages must be positive")
    first = {str(k): str(v) for k, v in (params or {}).items()}
    first.setdefault("limit", str(page_size or min(limit, MAX_PAGE_SIZE)))
    request: _Request | None = (path, first)
    seen_requests: set[tuple[Any, ...]] = set()
    seen_cursors: set[str] = set()
    given = pages = 0
    while request is not None and pages < max_pages:
        seen_requests.add(_request_key(client, *request))
        body = await client.request(
            "GET", request[0], access_token=access_token, params=request[1] or None
        )
        pages += 1
        if not isinstance(body, Mapping):
            return
        rows = body.get("data")
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict):
                yield row
                given += 1
                if given >= limit:
                    return
        request, cursor = next_request(client, body, path, first)
        if request is None:
            return
        if cursor is not None:
            if cursor in seen_cursors:
                request = None
            seen_cursors.add(cursor)
        if request is not None and _request_key(client, *request) in seen_requests:
            request = None
        if request is None:
            log.warning("graph.paging_repeated", endpoint=path, pages=pages)

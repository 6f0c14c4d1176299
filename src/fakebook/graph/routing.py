"""The one Starlette handler behind `/{version}/{path}`: version, faults, params, token, endpoint.

Order of checks, as a client sees them: an injected latency, the version label, an injected
fault, the body, the path and method, the access token and appsecret_proof, then the endpoint's
own rules. Injected usage headers go on every matching answer, errors included.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fakebook.errors import GraphError, invalid_param
from fakebook.graph import handover, linking, oauth, page_settings, profile, send, users
from fakebook.graph.auth import resolve_caller
from fakebook.graph.base import Endpoint, GraphRequest
from fakebook.state import State
from fakebook.versions import resolve_version

# Order matters: the first match wins, so narrower endpoints (a `when_param`, a fixed path)
# go before the catch-all node endpoints of `users`, which come last (linking's `GET me` with
# `account_linking_token` must be tried before the plain `GET me`).
ENDPOINTS: tuple[Endpoint, ...] = (
    *send.ENDPOINTS,
    *oauth.ENDPOINTS,
    *profile.ENDPOINTS,
    *page_settings.ENDPOINTS,
    *linking.ENDPOINTS,
    *handover.ENDPOINTS,
    *users.ENDPOINTS,
)


def find_endpoint(
    method: str, path: str, params: dict[str, Any]
) -> tuple[Endpoint, dict[str, str]]:
    path_matched = False
    for endpoint in ENDPOINTS:
        match = endpoint.pattern.match(path)
        if match is None or not endpoint.accepts(params):
            continue
        path_matched = True
        if endpoint.method == method:
            return endpoint, {k: v for k, v in match.groupdict().items() if v is not None}
    first = path.split("/", 1)[0]
    if path_matched or first.isdigit():
        raise invalid_param(
            f"Unsupported {method.lower()} request. Object with ID '{first}' does not exist,"
            " cannot be loaded due to missing permissions, or does not support this operation.",
            subcode=33,
        )
    raise GraphError(f"Unknown path components: /{path}", code=2500)


async def collect_params(request: Request) -> dict[str, Any]:
    """Query and body parameters merged, body winning, as Facebook merges them."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method in ("GET", "HEAD"):
        return params
    body = await request.body()
    if not body:
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise invalid_param("The request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise invalid_param("The request body must be a JSON object")
        params.update(data)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params


async def handle_graph(request: Request) -> Response:
    state: State = request.app.state.fakebook
    config = state.config
    version = request.path_params["version"]
    path = request.path_params["path"].strip("/")
    delay = state.shaping.delay(request.method, request.url.path)
    if delay > 0:
        await asyncio.sleep(delay)
    try:
        version = resolve_version(version, config.min_graph_version, config.expired_version_policy)
        fault = state.faults.take(request.method, request.url.path)
        if fault is not None:
            raise fault
        params = await collect_params(request)
        endpoint, match = find_endpoint(request.method, path, params)
        caller = resolve_caller(params, request.headers, state)
        graph_request = GraphRequest(
            request=request,
            state=state,
            version=version,
            method=request.method,
            params=params,
            match=match,
            caller=caller,
        )
        result = await endpoint.handler(graph_request)
        response = result if isinstance(result, Response) else JSONResponse(result)
    except GraphError as error:
        response = error.response()
    response.headers["facebook-api-version"] = version
    response.headers.update(state.shaping.headers(request.method, request.url.path))
    return response

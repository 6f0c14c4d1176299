import json

import httpx
import pytest

from botperms.graph.client import GraphClient
from botperms.graph.errors import InvalidParameterError
from botperms.graph.profile import (
    delete_messenger_profile,
    get_messenger_profile,
    set_messenger_profile,
)

from .conftest import Recorder

PAGE_TOKEN = "EAAPageTokenValue0123456789abcdef"


async def test_get_asks_for_the_fields_and_unwraps_data(
    recorder: Recorder, graph: GraphClient
) -> None:
    profile = {"get_started": {"payload": "GO"}}
    recorder.queue(httpx.Response(200, json={"data": [profile]}))
    assert await get_messenger_profile(graph, PAGE_TOKEN, ["get_started", "greeting"]) == profile
    request = recorder.requests[0]
    assert request.method == "GET"
    assert request.url.path == "/v25.0/me/messenger_profile"
    assert request.url.params["fields"] == "get_started,greeting"
    assert request.url.params["access_token"] == PAGE_TOKEN
    assert request.url.params["appsecret_proof"] == graph.appsecret_proof(PAGE_TOKEN)


async def test_an_empty_profile_is_an_empty_dict(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, json={"data": []}), httpx.Response(200, json={}))
    assert await get_messenger_profile(graph, PAGE_TOKEN, ["greeting"]) == {}
    assert await get_messenger_profile(graph, PAGE_TOKEN, ["greeting"]) == {}
    with pytest.raises(ValueError, match="at least one"):
        await get_messenger_profile(graph, PAGE_TOKEN, [])


async def test_set_posts_the_properties(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, json={"result": "success"}))
    await set_messenger_profile(graph, PAGE_TOKEN, {"get_started": {"payload": "GO"}})
    request = recorder.requests[0]
    assert request.method == "POST"
    assert json.loads(request.content) == {"get_started": {"payload": "GO"}}
    with pytest.raises(ValueError, match="nothing to set"):
        await set_messenger_profile(graph, PAGE_TOKEN, {})


async def test_set_is_retried_after_a_transient_error(
    recorder: Recorder, graph: GraphClient
) -> None:
    # Setting the same values again is harmless, unlike a send.
    recorder.queue(httpx.Response(504), httpx.Response(200, json={"result": "success"}))
    await set_messenger_profile(graph, PAGE_TOKEN, {"greeting": []})
    assert len(recorder.requests) == 2


async def test_delete_sends_the_fields_in_the_body(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, json={"result": "success"}))
    await delete_messenger_profile(graph, PAGE_TOKEN, ("persistent_menu",))
    request = recorder.requests[0]
    assert request.method == "DELETE"
    assert json.loads(request.content) == {"fields": ["persistent_menu"]}


async def test_refusals_become_typed_errors(recorder: Recorder, graph: GraphClient) -> None:
    error = {"message": "(#100) param greeting must be …", "type": "OAuthException", "code": 100}
    recorder.queue(httpx.Response(400, json={"error": error}))
    with pytest.raises(InvalidParameterError, match="param greeting"):
        await set_messenger_profile(graph, PAGE_TOKEN, {"greeting": []})

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
import structlog

from botperms.config import Settings
from botperms.graph.bound import BoundGraph
from botperms.graph.client import GraphClient
from botperms.graph.errors import (
    GraphError,
    InvalidTokenError,
    OutsideWindowError,
    RateLimitedError,
    TransientError,
)
from botperms.graph.transport import ReqwestTransport

from .conftest import APP_ID, APP_SECRET, GRAPH_BASE, Recorder

TOKEN = "EAAGm0PX4ZCpsBAKZBxyzSecretTokenValue123"


def proof(token: str) -> str:
    return hmac.new(APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()


def ok(data: Any, **kw: Any) -> httpx.Response:
    return httpx.Response(200, json=data, **kw)


def fb_error(code: int, subcode: int | None = None, status: int = 400, **kw: Any) -> httpx.Response:
    error: dict[str, Any] = {"message": "nope", "type": "OAuthException", "code": code}
    if subcode:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error}, **kw)


async def test_get_builds_url_token_and_proof(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(ok({"id": "1"}))
    data = await graph.request("GET", "/me", access_token=TOKEN, params={"fields": "id,name"})
    assert data == {"id": "1"}
    request = recorder.requests[0]
    assert str(request.url).startswith(f"{GRAPH_BASE}/me?")
    assert request.url.params["fields"] == "id,name"
    assert request.url.params["access_token"] == TOKEN
    assert request.url.params["appsecret_proof"] == proof(TOKEN)


async def test_no_token_no_proof(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(ok({"a": 1}))
    await graph.request("GET", "oauth/access_token", access_token=None, params={"x": "1"})
    params = recorder.requests[0].url.params
    assert "access_token" not in params
    assert "appsecret_proof" not in params
    assert recorder.requests[0].url.path == "/v25.0/oauth/access_token"


async def test_post_sends_json(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(ok({"result": "success"}))
    await graph.request("POST", "/me/messenger_profile", access_token=TOKEN, json={"a": [1]})
    request = recorder.requests[0]
    assert request.method == "POST"
    assert json.loads(request.content) == {"a": [1]}
    assert request.headers["content-type"] == "application/json"


async def test_returns_list_and_bool(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(ok([1, 2]), httpx.Response(200, content=b"true"))
    assert await graph.request("GET", "/x", access_token=None) == [1, 2]
    assert await graph.request("DELETE", "/x", access_token=TOKEN) is True


async def test_absolute_paging_url_gets_fresh_token(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(ok({"data": []}))
    next_url = f"{GRAPH_BASE}/123/likes?access_token=OLD&limit=25&after=QVFI&appsecret_proof=old"
    await graph.request("GET", next_url, access_token=TOKEN)
    params = recorder.requests[0].url.params
    assert params.get_list("access_token") == [TOKEN]
    assert params.get_list("appsecret_proof") == [proof(TOKEN)]
    assert params["after"] == "QVFI"
    assert params["limit"] == "25"


async def test_absolute_url_elsewhere_is_refused(recorder: Recorder, graph: GraphClient) -> None:
    with pytest.raises(ValueError, match="outside"):
        await graph.request("GET", "https://evil.example/v25.0/me", access_token=TOKEN)
    assert recorder.requests == []


async def test_error_response_maps_and_never_leaks(recorder: Recorder, graph: GraphClient) -> None:
    message = f"Bad token {TOKEN}; url https://graph.test/v25.0/me?access_token={TOKEN}"
    body = {"error": {"message": message, "code": 190, "error_subcode": 460}}
    recorder.queue(httpx.Response(400, json=body))
    with pytest.raises(InvalidTokenError) as caught:
        await graph.request("GET", "/me", access_token=TOKEN)
    error = caught.value
    for secret in (TOKEN, proof(TOKEN), APP_SECRET):
        assert secret not in str(error)
        assert secret not in repr(error)
    assert error.endpoint == "GET /v25.0/me"
    assert len(recorder.requests) == 1  # not retried


async def test_app_secret_in_error_is_redacted(recorder: Recorder, graph: GraphClient) -> None:
    body = {"error": {"message": f"client_secret {APP_SECRET} invalid", "code": 1}}
    recorder.queue(*(httpx.Response(500, json=body) for _ in range(4)))
    with pytest.raises(TransientError) as caught:
        await graph.request("GET", "/oauth/access_token", access_token=None)
    assert APP_SECRET not in str(caught.value)


async def test_transport_error_does_not_leak_url(recorder: Recorder, graph: GraphClient) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out reading {request.url}", request=request)

    recorder.queue(*([fail] * 4))
    with pytest.raises(TransientError) as caught:
        await graph.request("GET", "/me", access_token=TOKEN)
    error = caught.value
    assert TOKEN not in str(error)
    assert "ReadTimeout" in str(error)
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert len(recorder.requests) == 4  # 1 + max_retries for an idempotent GET


async def test_retries_transient_then_succeeds(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(fb_error(2, status=500), httpx.Response(503, text="busy"), ok({"id": "1"}))
    assert await graph.request("GET", "/me", access_token=TOKEN) == {"id": "1"}
    assert len(recorder.requests) == 3
    assert len(recorder.sleeps) == 2
    # Exponential with jitter: attempt n waits in [base*2^n/2, base*2^n].
    assert 0.05 <= recorder.sleeps[0] <= 0.1
    assert 0.1 <= recorder.sleeps[1] <= 0.2


async def test_gives_up_after_max_retries(recorder: Recorder) -> None:
    graph = recorder.client(max_retries=2)
    recorder.queue(*(fb_error(1200) for _ in range(3)))
    with pytest.raises(TransientError):
        await graph.request("GET", "/me", access_token=TOKEN)
    assert len(recorder.requests) == 3
    assert len(recorder.sleeps) == 2


async def test_no_retry_for_permanent_errors(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(fb_error(10, 2018278))
    with pytest.raises(OutsideWindowError):
        await graph.request("POST", "/me/messages", access_token=TOKEN, json={})
    assert recorder.sleeps == []


async def test_rate_limit_honours_retry_hint(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(fb_error(613, headers={"Retry-After": "3"}), ok({"ok": True}))
    assert await graph.request("GET", "/me", access_token=TOKEN) == {"ok": True}
    assert recorder.sleeps == [3.0]


async def test_long_rate_limit_hint_is_not_slept(recorder: Recorder, graph: GraphClient) -> None:
    usage = json.dumps({"1": [{"estimated_time_to_regain_access": 19}]})
    recorder.queue(fb_error(80006, headers={"X-Business-Use-Case-Usage": usage}))
    with pytest.raises(RateLimitedError) as caught:
        await graph.request("POST", "/me/messages", access_token=TOKEN, json={})
    assert caught.value.retry_after == 19 * 60
    assert recorder.sleeps == []


async def test_send_not_retried_after_read_timeout(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError) as caught:
        await graph.request("POST", "/me/messages", access_token=TOKEN, json={})
    assert caught.value.ambiguous
    assert len(recorder.requests) == 1


async def test_send_retried_after_connect_error(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.ConnectError("refused"), ok({"message_id": "m"}))
    data = await graph.request("POST", "/me/messages", access_token=TOKEN, json={})
    assert data == {"message_id": "m"}
    assert len(recorder.requests) == 2


async def test_send_not_retried_after_bare_5xx(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(504, text="gateway timeout"))
    with pytest.raises(TransientError) as caught:
        await graph.request("POST", "/me/messages", access_token=TOKEN, json={})
    assert caught.value.ambiguous


async def test_send_retried_after_facebook_says_failed(
    recorder: Recorder, graph: GraphClient
) -> None:
    recorder.queue(fb_error(1200, status=500), ok({"message_id": "m"}))
    assert await graph.request("POST", "/me/messages", access_token=TOKEN, json={})
    assert len(recorder.requests) == 2


async def test_idempotent_override_allows_post_retry(
    recorder: Recorder, graph: GraphClient
) -> None:
    recorder.queue(httpx.ReadTimeout("slow"), ok({"result": "success"}))
    data = await graph.request(
        "POST", "/me/messenger_profile", access_token=TOKEN, json={}, idempotent=True
    )
    assert data == {"result": "success"}


async def test_non_json_200_raises_readable(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, text="<html>hello</html>"))
    with pytest.raises(GraphError, match="not JSON"):
        await graph.request("GET", "/me", access_token=TOKEN)


async def test_empty_200_raises(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, content=b""))
    with pytest.raises(GraphError, match="empty body"):
        await graph.request("GET", "/me", access_token=TOKEN)


async def test_error_object_in_200_is_an_error(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(fb_error(190, status=200))
    with pytest.raises(InvalidTokenError):
        await graph.request("GET", "/me", access_token=TOKEN)


async def test_logs_never_contain_token(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.ConnectError(f"failed {TOKEN}"), ok({}))
    with structlog.testing.capture_logs() as logs:
        await graph.request("GET", "/me", access_token=TOKEN)
    assert logs
    assert TOKEN not in repr(logs)


async def test_bound_graph(recorder: Recorder, graph: GraphClient) -> None:
    bound = graph.for_token(TOKEN)
    assert isinstance(bound, BoundGraph)
    assert TOKEN not in repr(bound)
    recorder.queue(ok({"g": 1}), ok({"p": 1}), ok({"success": True}))
    assert await bound.get("/me/likes", {"limit": "5"}) == {"g": 1}
    assert await bound.post("/me/feed", json={"m": "x"}) == {"p": 1}
    assert await bound.delete("/me/permissions") == {"success": True}
    assert [r.method for r in recorder.requests] == ["GET", "POST", "DELETE"]
    for request in recorder.requests:
        assert request.url.params["access_token"] == TOKEN
        assert request.url.params["appsecret_proof"] == proof(TOKEN)


def test_app_token_and_repr() -> None:
    client = GraphClient(graph_base=GRAPH_BASE + "/", app_id=APP_ID, app_secret=APP_SECRET)
    assert client.app_token() == f"{APP_ID}|{APP_SECRET}"
    assert client.graph_base == GRAPH_BASE
    assert APP_SECRET not in repr(client)


async def test_from_settings_and_owned_http_is_closed() -> None:
    settings = Settings(
        app_id="42",
        app_secret="s3cret",
        verify_token="v",
        page_id="7",
        page_token="p",
        public_url="http://127.0.0.1:8000",
        token_keys="MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=",
        graph_max_retries=5,
        _env_file=None,
    )
    client = GraphClient.from_settings(settings)
    assert client.graph_base == settings.graph_base
    assert client.app_id == "42"
    assert client.app_token() == "42|s3cret"
    assert client.max_retries == 5
    # Without an injected client the transport is pyreqwest's, made lazily and closed here.
    assert isinstance(client._transport, ReqwestTransport)
    await client.aclose()


async def test_injected_http_is_not_closed(recorder: Recorder) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    client = recorder.client(http=http)
    await client.aclose()
    assert not http.is_closed
    await http.aclose()


def test_appsecret_proofs_are_kept_per_token_and_stay_right_past_the_bound() -> None:
    client = GraphClient(graph_base=GRAPH_BASE, app_id=APP_ID, app_secret=APP_SECRET)
    tokens = [f"EAAtoken{n}" for n in range(2500)]  # more than it keeps
    for token in tokens + tokens[:10]:
        assert client.appsecret_proof(token) == proof(token)
    assert client.appsecret_proof(TOKEN) == proof(TOKEN)

"""Settings → Apps and Websites: removing the app and asking for data deletion (contract §7).

The app's deauthorize and data-deletion callbacks are a real HTTP server on a loopback port;
the signed_request it receives is checked here with our own base64url and HMAC code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakebook import FakebookConfig, create_app
from tests.e2e.servers import ServerThread, free_port
from tests.fakebook.fbtesting import (
    ALICE_ASID,
    ALICE_PSID,
    APP_SECRET,
    BASE,
    BOB_PSID,
    FB,
    Clock,
    Receiver,
    make_config,
)


@dataclass
class Call:
    path: str
    content_type: str
    form: dict[str, list[str]]


@dataclass
class AppSide:
    """The bot's two callbacks; `answers` maps a path to (status, body, content type)."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    answers: dict[str, tuple[int, str, str]] = field(default_factory=dict)

    def reset(self) -> None:
        self.calls.clear()
        self.answers = {
            "/deauthorize": (200, "", "text/plain"),
            "/deletion": (
                200,
                json.dumps(
                    {"url": f"{self.url}/deletion?id=abc123", "confirmation_code": "abc123"}
                ),
                "application/json",
            ),
        }

    async def handle(self, request: Request) -> Response:
        form = await request.form()
        fields: dict[str, list[str]] = {}
        for key, value in form.multi_items():
            fields.setdefault(key, []).append(str(value))
        self.calls.append(Call(request.url.path, request.headers.get("content-type", ""), fields))
        status, body, content_type = self.answers[request.url.path]
        headers = {"Location": "/elsewhere"} if 300 <= status < 400 else None
        return Response(body, status_code=status, media_type=content_type, headers=headers)


@pytest.fixture(scope="module")
def served_app_side() -> Iterator[AppSide]:
    side = AppSide()
    server_app = Starlette(
        routes=[
            Route("/deauthorize", side.handle, methods=["POST"]),
            Route("/deletion", side.handle, methods=["POST"]),
        ]
    )
    server = ServerThread(server_app, free_port()).start()
    side.url = server.url
    try:
        yield side
    finally:
        server.stop()


@pytest.fixture
def app_side(served_app_side: AppSide) -> AppSide:
    served_app_side.reset()
    return served_app_side


def callback_config(side: AppSide, **overrides: Any) -> FakebookConfig:
    values: dict[str, Any] = {
        "deauthorize_callback_url": f"{side.url}/deauthorize",
        "data_deletion_callback_url": f"{side.url}/deletion",
    }
    values.update(overrides)
    return make_config(**values)


@pytest.fixture
def config(app_side: AppSide) -> FakebookConfig:
    return callback_config(app_side)


@pytest.fixture
async def fb_for() -> AsyncIterator[Any]:
    """Build a fakebook with another config (and optionally a callback transport)."""
    opened: list[httpx.AsyncClient] = []

    async def build(
        config: FakebookConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> FB:
        receiver, clock = Receiver(), Clock()
        app = create_app(
            config,
            webhook_transport=httpx.MockTransport(receiver.handle),
            clock=clock,
            callback_transport=transport,
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
        opened.append(client)
        return FB(client, clock)

    yield build
    for client in opened:
        await client.aclose()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_signed_request(signed: str, secret: str = APP_SECRET) -> dict[str, Any]:
    """Facebook's format, checked independently: sig.payload, unpadded base64url, HMAC-SHA256."""
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", signed), signed
    signature, payload = signed.split(".")
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(b64url_decode(signature), expected)
    decoded: dict[str, Any] = json.loads(b64url_decode(payload))
    return decoded


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="fb_dtsg" value="([0-9a-f]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


async def settings(fb: FB, psid: str = ALICE_PSID) -> httpx.Response:
    page = await fb.client.get("/settings", params={"psid": psid})
    assert page.status_code == 200
    return page


async def press(fb: FB, action: str, psid: str = ALICE_PSID) -> httpx.Response:
    csrf = csrf_of(await settings(fb, psid))
    return await fb.client.post(f"/settings/apps/{action}", data={"psid": psid, "fb_dtsg": csrf})


# --- remove this app ----------------------------------------------------------------------


async def test_remove_app_revokes_and_posts_a_real_signed_request(
    fb: FB, app_side: AppSide, clock: Clock
) -> None:
    token = await fb.user_token()
    assert (await fb.graph("GET", "me", token)).status_code == 200
    answer = await fb.client.post("/_fakebook/apps/remove", json={"psid": ALICE_PSID})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["was_installed"] is True
    assert body["asid"] == ALICE_ASID
    callback = body["callback"]
    assert (callback["ok"], callback["status"], callback["error"]) == (True, 200, None)
    (call,) = app_side.calls
    assert call.path == "/deauthorize"
    assert call.content_type.startswith("application/x-www-form-urlencoded")
    assert list(call.form) == ["signed_request"]
    (signed,) = call.form["signed_request"]
    assert signed == callback["signed_request"]
    assert verify_signed_request(signed) == {
        "algorithm": "HMAC-SHA256",
        "issued_at": int(clock.now),
        "user_id": ALICE_ASID,
    }
    # The person's token is dead the way a removed app's tokens are (190/458).
    dead = (await fb.graph("GET", "me", token)).json()["error"]
    assert (dead["code"], dead["error_subcode"]) == (190, 458)
    grants = (await fb.client.get(f"/_fakebook/grants/{ALICE_ASID}")).json()
    assert grants["installed"] is False


async def test_signature_does_not_verify_with_another_secret(fb: FB, app_side: AppSide) -> None:
    await fb.client.post("/_fakebook/apps/remove", json={"psid": ALICE_PSID})
    signed = app_side.calls[0].form["signed_request"][0]
    with pytest.raises(AssertionError):
        verify_signed_request(signed, secret="another-secret")


async def test_settings_page_lists_the_app_and_removes_it(fb: FB, app_side: AppSide) -> None:
    before = await settings(fb)
    assert 'id="no-active-apps"' in before.text
    assert 'id="remove-app"' not in before.text
    await fb.user_token(scopes="user_likes,email")
    listed = await settings(fb)
    assert 'id="remove-app"' in listed.text
    assert "public_profile, user_likes, email" in listed.text
    assert f"{app_side.url}/deauthorize" in listed.text
    removed = await press(fb, "remove")
    assert removed.status_code == 200
    assert "Test Bot was removed" in removed.text
    assert "told through its deauthorize callback (HTTP 200)" in removed.text
    assert 'class="notice ok"' in removed.text
    assert 'id="app-removed"' in removed.text
    assert 'id="remove-app"' not in removed.text
    assert [call.path for call in app_side.calls] == ["/deauthorize"]
    verify_signed_request(app_side.calls[0].form["signed_request"][0])


async def test_forged_or_foreign_form_is_refused(fb: FB, app_side: AppSide) -> None:
    await fb.user_token()
    await fb.user_token(BOB_PSID)
    bob_csrf = csrf_of(await settings(fb, BOB_PSID))
    forged = await fb.client.post(
        "/settings/apps/remove", data={"psid": ALICE_PSID, "fb_dtsg": bob_csrf}
    )
    assert forged.status_code == 403
    unknown = await fb.client.post("/settings/apps/remove", data={"psid": "1", "fb_dtsg": "x"})
    assert unknown.status_code == 400
    assert app_side.calls == []
    grants = (await fb.client.get(f"/_fakebook/grants/{ALICE_ASID}")).json()
    assert grants["installed"] is True


# --- delete my data -----------------------------------------------------------------------


async def test_delete_data_returns_url_and_confirmation_code(
    fb: FB, app_side: AppSide, clock: Clock
) -> None:
    answer = await fb.client.post("/_fakebook/apps/delete-data", json={"psid": ALICE_PSID})
    assert answer.status_code == 200, answer.text
    callback = answer.json()["callback"]
    assert callback["ok"] is True
    assert callback["url"] == f"{app_side.url}/deletion?id=abc123"
    assert callback["confirmation_code"] == "abc123"
    (call,) = app_side.calls
    assert call.path == "/deletion"
    assert call.content_type.startswith("application/x-www-form-urlencoded")
    payload = verify_signed_request(call.form["signed_request"][0])
    assert payload == {
        "algorithm": "HMAC-SHA256",
        "issued_at": int(clock.now),
        "user_id": ALICE_ASID,
    }
    # Asking for deletion does not remove the app.
    assert (await fb.client.get(f"/_fakebook/grants/{ALICE_ASID}")).json()["installed"] is False


async def test_delete_from_the_page_links_the_status_url(fb: FB, app_side: AppSide) -> None:
    await fb.user_token()
    await press(fb, "remove")
    page = await press(fb, "delete-data")
    assert page.status_code == 200
    status_url = f"{app_side.url}/deletion?id=abc123"
    assert f'<a href="{status_url}" id="confirmation-code" rel="noopener">abc123</a>' in page.text
    assert f'id="status-url" rel="noopener">{status_url}</a>' in page.text
    assert "Deletion requested" in page.text
    assert [call.path for call in app_side.calls] == ["/deauthorize", "/deletion"]


async def test_a_non_web_status_url_is_not_a_link(fb: FB, app_side: AppSide) -> None:
    await fb.user_token()
    app_side.answers["/deletion"] = (
        200,
        json.dumps({"url": "javascript:alert(1)", "confirmation_code": 77}),
        "application/json",
    )
    page = await press(fb, "delete-data")
    assert 'href="javascript' not in page.text
    assert '<strong id="confirmation-code">77</strong>' in page.text
    assert "not a web URL" in page.text


# --- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "answer", "message"),
    [
        ("/deauthorize", (500, "boom", "text/plain"), "answered HTTP 500 instead of 200"),
        ("/deauthorize", (302, "", "text/plain"), "answered HTTP 302 instead of 200"),
        ("/deletion", (500, "{}", "application/json"), "answered HTTP 500 instead of 200"),
        ("/deletion", (200, "<html>ok</html>", "text/html"), "its body is not JSON"),
        ("/deletion", (200, '{"url": "x"}', "application/json"), '"confirmation_code" strings'),
        ("/deletion", (200, "[1, 2]", "application/json"), '"confirmation_code" strings'),
    ],
)
async def test_callback_answers_that_are_not_accepted(
    fb: FB, app_side: AppSide, path: str, answer: tuple[int, str, str], message: str
) -> None:
    await fb.user_token()
    app_side.answers[path] = answer
    action = "remove" if path == "/deauthorize" else "delete-data"
    page = await press(fb, action)
    assert page.status_code == 200
    assert 'class="notice problem"' in page.text
    assert message.replace('"', "&#34;") in page.text
    control = await fb.client.post(f"/_fakebook/apps/{action}", json={"psid": ALICE_PSID})
    callback = control.json()["callback"]
    assert callback["ok"] is False
    assert callback["status"] == answer[0]
    assert callback["body"] == answer[1]
    assert message in callback["error"]


async def test_connection_refused_is_reported(fb_for: Any, app_side: AppSide) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    fb = await fb_for(
        make_config(
            deauthorize_callback_url=f"{nobody}/deauthorize",
            data_deletion_callback_url=f"{nobody}/deletion",
        )
    )
    await fb.user_token()
    page = await press(fb, "remove")
    assert "Test Bot was removed" in page.text
    assert f"Could not connect to {nobody}/deauthorize" in page.text
    # The removal happened even though the app could not be told.
    assert (await fb.client.get(f"/_fakebook/grants/{ALICE_ASID}")).json()["installed"] is False
    answer = await fb.client.post("/_fakebook/apps/delete-data", json={"psid": ALICE_PSID})
    callback = answer.json()["callback"]
    assert callback["status"] is None
    assert callback["error"].startswith(f"Could not connect to {nobody}/deletion")


async def test_timeout_is_reported(fb_for: Any) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    config = make_config(
        deauthorize_callback_url="https://bot.test/deauthorize",
        data_deletion_callback_url="https://bot.test/deletion",
        webhook_timeout=2.5,
    )
    fb = await fb_for(config, httpx.MockTransport(slow))
    answer = await fb.client.post("/_fakebook/apps/delete-data", json={"psid": ALICE_PSID})
    callback = answer.json()["callback"]
    assert callback["error"] == "https://bot.test/deletion did not answer within 2.5 seconds."


async def test_without_callback_urls_the_page_says_so(fb_for: Any) -> None:
    fb = await fb_for(make_config())
    await fb.user_token()
    page = await settings(fb)
    assert "not configured (<code>deauthorize_callback_url</code>)" in page.text
    assert "not configured (<code>data_deletion_callback_url</code>)" in page.text
    removed = await press(fb, "remove")
    assert "has no deauthorize callback URL" in removed.text
    assert 'class="notice info"' in removed.text
    assert (await fb.client.get(f"/_fakebook/grants/{ALICE_ASID}")).json()["installed"] is False
    deletion = await press(fb, "delete-data")
    assert "has no data deletion callback URL" in deletion.text
    control = await fb.client.post("/_fakebook/apps/remove", json={"psid": ALICE_PSID})
    callback = control.json()["callback"]
    assert (callback["configured"], callback["ok"], callback["signed_request"]) == (
        False,
        False,
        None,
    )


async def test_control_routes_validate_and_log(fb: FB, app_side: AppSide) -> None:
    assert (await fb.client.post("/_fakebook/apps/remove", json={"psid": "1"})).status_code == 404
    assert (await fb.client.post("/_fakebook/apps/remove", content=b"[]")).status_code == 400
    by_asid = await fb.client.post("/_fakebook/apps/delete-data", json={"asid": ALICE_ASID})
    assert by_asid.json()["psid"] == ALICE_PSID
    never = await fb.client.post("/_fakebook/apps/remove", json={"psid": BOB_PSID})
    assert never.json()["was_installed"] is False
    log = (await fb.client.get("/_fakebook/apps/callbacks")).json()
    assert [(entry["kind"], entry["ok"]) for entry in log] == [
        ("data_deletion", True),
        ("deauthorize", True),
    ]
    await fb.client.post("/_fakebook/reset")
    assert (await fb.client.get("/_fakebook/apps/callbacks")).json() == []


def test_callback_urls_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="absolute"):
        make_config(deauthorize_callback_url="/deauthorize")
    with pytest.raises(ValueError, match="absolute"):
        make_config(data_deletion_callback_url="bot.test/deletion")


async def test_chat_and_index_link_to_settings(fb: FB) -> None:
    chat = await fb.client.get("/chat", params={"person": BOB_PSID})
    assert f'href="/settings?psid={BOB_PSID}"' in chat.text
    index = await fb.client.get("/")
    assert f'href="/settings?psid={ALICE_PSID}"' in index.text
    # Without ?psid the page follows the simulator's person cookie.
    page = await fb.client.get("/settings")
    assert "Bob Sample" in page.text

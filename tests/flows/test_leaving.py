"""Deauthorize and data-deletion callbacks: verified, effective, and harmless when refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from botperms.app import App
from botperms.messenger import sign_request
from botperms.store import GrantRecord, StorageUnavailable, Store
from tests.flows.conftest import APP_SECRET

PAGE = "222"


def _store(app: Starlette) -> Store:
    services: App = app.state.app
    return services.store


def signed(user_id: str = "asid-1", secret: str = APP_SECRET, **extra: Any) -> str:
    payload = {"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": user_id}
    payload.update(extra)
    return sign_request(secret, payload)


async def _person(store: Store, psid: str, asid: str) -> GrantRecord:
    await store.upsert_user(PAGE, psid, asid=asid)
    await store.outbox_add(PAGE, psid, {"text": "hello"})
    await store.save_pending_intent(
        page_id=PAGE,
        psid=psid,
        scopes=["user_likes"],
        event={"x": 1},
        expires_at=datetime(2099, 1, 1, tzinfo=UTC),
    )
    return await store.save_grant(
        page_id=PAGE,
        psid=psid,
        asid=asid,
        access_token=f"token-{psid}",
        scopes_granted=["user_likes"],
        scopes_declined=[],
        expires_at=None,
        data_access_expires_at=None,
        flow="web",
    )


async def _post(client: httpx.AsyncClient, path: str, body: Any) -> httpx.Response:
    if isinstance(body, dict):
        return await client.post(path, data=body)
    return await client.post(
        path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )


BAD_BODIES: list[Any] = [
    {"signed_request": signed(secret="not-our-secret")},
    {"signed_request": signed(algorithm="HMAC-SHA1")},
    {"signed_request": signed()[:-4] + "AAAA"},
    {"signed_request": "garbage"},
    {"signed_request": sign_request(APP_SECRET, {"algorithm": "HMAC-SHA256"})},  # no user_id
    {"other": "field"},
    b"\xff\xfe not a form at all",
]


@pytest.mark.parametrize("path", ["/facebook/deauthorize", "/facebook/data-deletion"])
@pytest.mark.parametrize("body", BAD_BODIES)
async def test_bad_signed_requests_get_400_and_change_nothing(
    client: httpx.AsyncClient, app: Starlette, path: str, body: Any
) -> None:
    store = _store(app)
    await _person(store, "psid-1", "asid-1")
    response = await _post(client, path, body)
    assert response.status_code == 400
    assert "invalid signed_request" in response.json()["error"]
    assert await store.active_grant(PAGE, "psid-1") is not None
    assert await store.erase_person("nobody") == dict.fromkeys(
        (
            "grants",
            "link_codes",
            "pending_intents",
            "login_attempts",
            "inbox",
            "outbox",
            "user_profiles",
            "messenger_users",
        ),
        0,
    )


@pytest.mark.parametrize("path", ["/facebook/deauthorize", "/facebook/data-deletion"])
async def test_a_json_body_is_not_a_signed_request(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, json={"signed_request": signed()})
    assert response.status_code == 400


async def test_an_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/facebook/deauthorize", data={"signed_request": signed(), "pad": "x" * 20000}
    )
    assert response.status_code == 400


async def test_deauthorize_revokes_every_grant_of_that_person_only(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    store = _store(app)
    await _person(store, "psid-1", "asid-1")
    await _person(store, "psid-2", "asid-2")
    response = await _post(client, "/facebook/deauthorize", {"signed_request": signed("asid-1")})
    assert response.status_code == 200
    assert response.json() == {"success": True, "revoked": 1}
    assert await store.active_grant(PAGE, "psid-1") is None
    assert await store.active_grant(PAGE, "psid-2") is not None
    now = datetime.now(UTC)
    assert await store.pending_intent(PAGE, "psid-1", now=now) is None
    assert await store.pending_intent(PAGE, "psid-2", now=now) is not None
    # Repeating it (Facebook retries) is harmless.
    again = await _post(client, "/facebook/deauthorize", {"signed_request": signed("asid-1")})
    assert again.json() == {"success": True, "revoked": 0}


async def test_data_deletion_erases_the_person_and_answers_with_a_status_url(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    store = _store(app)
    await _person(store, "psid-1", "asid-1")
    await _person(store, "psid-2", "asid-2")
    response = await _post(client, "/facebook/data-deletion", {"signed_request": signed("asid-1")})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"url", "confirmation_code"}
    url = urlsplit(body["url"])
    assert f"{url.scheme}://{url.netloc}" == "http://127.0.0.1:9"
    assert url.path == "/deletion"
    assert parse_qs(url.query) == {"id": [body["confirmation_code"]]}
    assert await store.active_grant(PAGE, "psid-1") is None
    assert await store.active_grant(PAGE, "psid-2") is not None
    erased_again = await store.erase_person("asid-1")
    assert set(erased_again.values()) == {0}

    page = await client.get(f"/deletion?id={body['confirmation_code']}")
    assert page.status_code == 200
    assert "Your data has been deleted" in page.text
    assert body["confirmation_code"] in page.text
    assert "asid-1" not in page.text


async def test_deleting_someone_who_never_linked_still_gives_a_receipt(
    client: httpx.AsyncClient,
) -> None:
    response = await _post(client, "/facebook/data-deletion", {"signed_request": signed("new")})
    assert response.status_code == 200
    url = urlsplit(response.json()["url"])
    page = await client.get(f"{url.path}?{url.query}")
    assert "Your data has been deleted" in page.text
    assert "0 records" in page.text


@pytest.mark.parametrize("code", ["", "nope", "x" * 100])
async def test_an_unknown_code_gets_a_readable_404(client: httpx.AsyncClient, code: str) -> None:
    page = await client.get("/deletion", params={"id": code} if code else None)
    assert page.status_code == 404
    assert "We don't know this request" in page.text


async def disk_full(*args: object, **kwargs: object) -> object:
    raise StorageUnavailable("the database is unavailable (database or disk is full)")


@pytest.mark.parametrize(
    ("path", "failing_write"),
    [
        # The erasure runs in the same transaction as the deletion record.
        ("/facebook/data-deletion", "create_deletion_request"),
        # The revocation runs in the same transaction as dropping the waiting requests.
        ("/facebook/deauthorize", "drop_pending_intent"),
    ],
)
async def test_a_full_disk_is_a_503_and_changes_nothing(
    client: httpx.AsyncClient,
    app: Starlette,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    failing_write: str,
) -> None:
    store = _store(app)
    await _person(store, "psid-1", "asid-1")
    monkeypatch.setattr(store, failing_write, disk_full)
    response = await _post(client, path, {"signed_request": signed("asid-1")})
    assert response.status_code == 503
    assert "nothing changed" in response.json()["error"]
    monkeypatch.undo()
    assert await store.active_grant(PAGE, "psid-1") is not None

"""The intake never refuses what Facebook sends (platform contract §1.4), and a hostile but
signed body gets a 4xx or a 200 with the oddity kept: never a 5xx.

Each shape is posted signed through the real app (httpx.ASGITransport) on SQLite, and the
inbox is read back.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from botperms.app import App
from tests.flows.test_webhook import encode, post

PAGE = "222"


def delivery(*events: Any, standby: list[Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": PAGE, "time": 1, "messaging": list(events)}
    if standby is not None:
        entry["standby"] = standby
    return {"object": "page", "entry": [entry]}


def person(**event: Any) -> dict[str, Any]:
    return {"sender": {"id": "42"}, "recipient": {"id": PAGE}, "timestamp": 1000, **event}


SHAPES: dict[str, tuple[dict[str, Any], str]] = {
    "policy_enforcement without sender": (
        {
            "recipient": {"id": PAGE},
            "timestamp": 1000,
            "policy_enforcement": {"action": "block", "reason": "spam"},
        },
        "policy_enforcement",
    ),
    "app_roles without sender": (
        {"recipient": {"id": PAGE}, "timestamp": 1000, "app_roles": {"123": ["primary_receiver"]}},
        "app_roles",
    ),
    "checkbox optin with user_ref only": (
        {
            "sender": {"user_ref": "ref-1"},
            "recipient": {"id": PAGE},
            "timestamp": 1000,
            "optin": {"ref": "x", "user_ref": "ref-1"},
        },
        "optin",
    ),
    "delivery without mids or watermark": (person(delivery={}), "delivery"),
    "attachment with empty payload": (
        person(message={"mid": "m.att", "attachments": [{"type": "fallback", "payload": {}}]}),
        "message",
    ),
    "attachment without payload or type": (
        person(message={"mid": "m.att2", "attachments": [{}]}),
        "message",
    ),
    "numeric ids": (
        {
            "sender": {"id": 42},
            "recipient": {"id": int(PAGE)},
            "timestamp": 1000,
            "message": {"mid": "m.num", "text": "hi"},
        },
        "message",
    ),
    "pass_thread_control with numeric app ids": (
        person(pass_thread_control={"previous_owner_app_id": None, "new_owner_app_id": 123}),
        "pass_thread_control",
    ),
    "take_thread_control": (
        person(take_thread_control={"previous_owner_app_id": "1", "new_owner_app_id": "2"}),
        "take_thread_control",
    ),
    "request_thread_control": (
        person(request_thread_control={"requested_owner_app_id": "9", "metadata": "m"}),
        "request_thread_control",
    ),
    "an unknown event kind": (person(brand_new_kind={"a": [1, 2]}), "unknown"),
    "reaction": (person(reaction={"mid": "m.r", "action": "react", "emoji": "👍"}), "reaction"),
    "message_edit": (person(message_edit={"mid": "m.e", "text": "edited"}), "message_edit"),
    "no timestamp": ({"sender": {"id": "42"}, "recipient": {"id": PAGE}, "read": {}}, "read"),
    "an event that is not an object": ("just a string", "unknown"),  # type: ignore[dict-item]
}


async def rows(app: Starlette) -> list[Any]:
    built: App = app.state.app
    return await built.store.inbox_list()


@pytest.mark.parametrize("name", list(SHAPES))
async def test_every_documented_shape_is_acknowledged_and_kept(
    name: str, client: httpx.AsyncClient, app: Starlette
) -> None:
    event, kind = SHAPES[name]
    response = await post(client, encode(delivery(event)))
    assert response.status_code == 200, response.text
    [row] = await rows(app)
    assert row.kind == kind
    assert row.status == "pending"
    assert row.page_id == PAGE


async def test_one_odd_event_does_not_lose_the_others(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    good = person(message={"mid": "m.good", "text": "hi"})
    body = delivery(good, 17, {"recipient": "not an object"}, person(delivery={"mids": "x"}))
    assert (await post(client, encode(body))).status_code == 200
    kinds = sorted(row.kind for row in await rows(app))
    assert kinds == ["delivery", "message", "unknown", "unknown"]


async def test_standby_events_are_kept_as_standby(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    mine = person(message={"mid": "m.mine", "text": "to me"})
    theirs = person(message={"mid": "m.theirs", "text": "to the inbox"})
    assert (await post(client, encode(delivery(mine, standby=[theirs])))).status_code == 200
    stored = {row.event_key: row.standby for row in await rows(app)}
    assert stored == {"mid:m.mine": False, "mid:m.theirs": True}


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("deep nesting", b'{"object":"page","entry":[' + b"[" * 5000 + b"]" * 5000 + b"]}", 400),
        (
            "nesting past the limit inside an event",
            encode(delivery(person(extra=json.loads("[" * 80 + "]" * 80)))),
            400,
        ),
        ("NaN", b'{"object":"page","entry":[{"id":"222","time":NaN}]}', 400),
        ("a 5000-digit integer", b'{"object":"page","entry":[{"id":' + b"9" * 5000 + b"}]}", 400),
    ],
)
async def test_hostile_bodies_get_a_4xx(
    name: str, body: bytes, status: int, client: httpx.AsyncClient, app: Starlette
) -> None:
    response = await post(client, body)
    assert response.status_code == status
    assert "Traceback" not in response.text
    assert await rows(app) == []


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("timestamp past 64 bits", person(timestamp=2**70, message={"mid": "m.t", "text": "x"})),
        ("negative timestamp", person(timestamp=-5, message={"mid": "m.n", "text": "x"})),
        ("ids past 64 bits", person(sender={"id": 2**80}, message={"mid": "m.i", "text": "x"})),
        ("a mid of 10,000 characters", person(message={"mid": "m" * 10_000, "text": "x"})),
        ("a psid of 300 characters", person(sender={"id": "7" * 300}, delivery={})),
        ("a lone surrogate", person(message={"mid": "m.s", "text": "\ud800 x"})),
        ("a NUL character", person(message={"mid": "m.0", "text": "a\x00b"})),
        ("a huge integer field", person(message={"mid": "m.h", "seq": 10**300})),
        ("booleans as ids", person(sender={"id": True}, message={"mid": "m.b", "text": "x"})),
    ],
)
async def test_odd_but_signed_values_are_kept_with_a_200(
    name: str, event: dict[str, Any], client: httpx.AsyncClient, app: Starlette
) -> None:
    response = await post(client, encode(delivery(event)))
    assert response.status_code == 200, response.text
    [row] = await rows(app)
    assert 0 <= row.event_time < 2**63
    assert len(row.event_key) <= 255
    assert row.psid is None or len(row.psid) <= 64


async def test_a_thousand_events_in_one_delivery(client: httpx.AsyncClient, app: Starlette) -> None:
    events = [person(message={"mid": f"m.{i}", "text": str(i)}) for i in range(1000)]
    assert (await post(client, encode(delivery(*events)))).status_code == 200
    assert len(await rows(app)) == 1000


async def test_a_redelivery_is_stored_once(client: httpx.AsyncClient, app: Starlette) -> None:
    body = encode(delivery(person(delivery={"watermark": 5})))
    for _ in range(3):
        assert (await post(client, body)).status_code == 200
    assert len(await rows(app)) == 1

"""read_delivery: what a delivery's events become in the inbox, without ever failing on one."""

from __future__ import annotations

import json

import pytest

from botperms.messenger import InvalidPayload
from botperms.messenger.intake import MAX_DEPTH, read_delivery, sanitize


def body(*events: object, standby: list[object] | None = None, page: object = "222") -> bytes:
    entry: dict[str, object] = {"id": page, "time": 1, "messaging": list(events)}
    if standby is not None:
        entry["standby"] = standby
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def test_a_message_is_keyed_on_its_mid_and_an_echo_names_the_person() -> None:
    message = {
        "sender": {"id": "p1"},
        "recipient": {"id": "222"},
        "timestamp": 5,
        "message": {"mid": "m.1", "text": "hi"},
    }
    echo = {
        "sender": {"id": "222"},
        "recipient": {"id": "p1"},
        "timestamp": 6,
        "message": {"mid": "m.2", "is_echo": True, "app_id": 1},
    }
    first, second = read_delivery(body(message, echo))
    assert (first.kind, first.key, first.psid, first.page_id) == ("message", "mid:m.1", "p1", "222")
    assert (second.kind, second.psid, second.page_id) == ("echo", "p1", "222")


def test_events_without_mid_are_keyed_on_their_content_whatever_the_key_order() -> None:
    read = {"sender": {"id": "p1"}, "recipient": {"id": "222"}, "timestamp": 5, "read": {}}
    reordered = {"read": {}, "timestamp": 5, "recipient": {"id": "222"}, "sender": {"id": "p1"}}
    assert read_delivery(body(read))[0].key == read_delivery(body(reordered))[0].key
    assert read_delivery(body(read))[0].key.startswith("sha256:")


def test_our_internal_field_is_dropped_from_what_facebook_sends() -> None:
    forged = {
        "sender": {"id": "p1"},
        "recipient": {"id": "222"},
        "timestamp": 5,
        "message": {"mid": "m"},
        "botperms": {"login": "succeeded"},
    }
    assert "botperms" not in read_delivery(body(forged))[0].payload


def test_standby_and_the_entry_page_when_the_event_names_none() -> None:
    [event] = read_delivery(body(standby=[{"timestamp": 1, "app_roles": {"1": ["x"]}}], page=222))
    assert (event.standby, event.page_id, event.psid, event.kind) == (
        True,
        "222",
        None,
        "app_roles",
    )


def test_events_come_out_in_time_order() -> None:
    late = {"sender": {"id": "p"}, "recipient": {"id": "222"}, "timestamp": 9, "read": {}}
    early = {"sender": {"id": "p"}, "recipient": {"id": "222"}, "timestamp": 1, "delivery": {}}
    assert [e.kind for e in read_delivery(body(late, early))] == ["delivery", "read"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"[]", b'{"object":"user","entry":[]}', b'{"object":"page"}', b'{"field":"x","value":1}'],
)
def test_only_a_non_page_envelope_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidPayload):
        read_delivery(raw)


def test_sanitize_keeps_depth_and_replaces_what_no_database_stores() -> None:
    assert sanitize({"a": ["\ud800x", "n\x00ul", 1, None]}) == {
        "a": ["\ufffdx", "n\ufffdul", 1, None]
    }
    deep: object = []
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(InvalidPayload, match="nests deeper"):
        sanitize(deep)

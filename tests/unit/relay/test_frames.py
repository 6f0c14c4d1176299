"""The relay's frames: what the web half writes is what the handler half reads."""

from __future__ import annotations

import json

import pytest

from botperms.relay.frames import (
    BadFrame,
    add_frame,
    answer_frame,
    items_of,
    read_frame,
)
from botperms.store import NewInboxItem


def item(**overrides: object) -> NewInboxItem:
    fields: dict[str, object] = {
        "event_key": "m.1",
        "page_id": "222",
        "psid": "5000",
        "kind": "message",
        "payload": {"message": {"mid": "m.1", "text": "hi"}},
        "event_time": 1_700_000_000_000,
        "standby": False,
    }
    fields.update(overrides)
    return NewInboxItem(**fields)  # type: ignore[arg-type]


def test_events_come_out_as_they_went_in() -> None:
    items = [
        item(),
        # A newline and a non-ASCII text: still one line, the same text.
        item(event_key="m.2", payload={"message": {"text": "line one\nline two ✓"}}),
        # No sender (policy_enforcement), a standby event, an integer past 64 bits.
        item(event_key="p.3", psid=None, kind="policy_enforcement", payload={"n": 2**70}),
        item(event_key="s.4", standby=True),
    ]
    line = add_frame(7, items)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    frame = read_frame(line)
    assert frame["id"] == 7
    assert items_of(frame) == items


def test_answers_carry_the_id_and_the_error() -> None:
    assert read_frame(answer_frame(3)) == {"id": 3}
    assert read_frame(answer_frame(4, "disk full")) == {"id": 4, "error": "disk full"}


@pytest.mark.parametrize(
    "line",
    [b"not json\n", b"[1, 2]\n", b'"text"\n'],
)
def test_a_line_that_is_not_a_frame_is_refused(line: bytes) -> None:
    with pytest.raises(BadFrame):
        read_frame(line)


@pytest.mark.parametrize(
    "frame",
    [
        {"id": 1},  # no events
        {"id": 1, "add": [["too", "short"]]},
        {"id": 1, "add": [["k", "222", "1", "message", ["not", "a", "dict"], 1, False]]},
        {"id": 1, "add": [["k", "222", "1", "message", {}, "not a time", False]]},
    ],
)
def test_events_that_do_not_fit_are_refused(frame: dict[str, object]) -> None:
    with pytest.raises(BadFrame):
        items_of(read_frame(json.dumps(frame).encode()))

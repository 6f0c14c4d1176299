"""Webhook bodies: ``parse_payload`` (typed events) and the intake that stores them
(``read_delivery``) give a typed result or InvalidPayload for any input, never anything else."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from botperms.messenger import InvalidPayload, WebhookPayload, parse_payload
from botperms.messenger.intake import IncomingEvent, read_delivery
from tests.fuzz.strategies import deliveries, json_values


def _use(payload: WebhookPayload) -> None:
    """Everything a handler or the worker reads from a typed payload."""
    for _entry, event in payload.events():
        assert isinstance(event.kind, str)
        assert event.psid is None or isinstance(event.psid, str)
        assert event.page_id is None or isinstance(event.page_id, str)
        assert event.key().startswith(("mid:", "sha256:"))
        json.dumps(event.as_dict())
        if event.message is not None:
            assert event.message.sticker_id is None or isinstance(event.message.sticker_id, str)


@given(deliveries() | json_values)
def test_parse_payload_types_or_refuses(data: Any) -> None:
    try:
        payload = parse_payload(data)
    except InvalidPayload:
        return
    assert isinstance(payload, WebhookPayload)
    _use(payload)


def _check_stored(events: list[IncomingEvent]) -> None:
    for event in events:
        assert isinstance(event, IncomingEvent)
        assert isinstance(event.page_id, str)
        assert event.psid is None or isinstance(event.psid, str)
        assert event.key.startswith(("mid:", "sha256:"))
        assert isinstance(event.event_time, int)
        assert 0 <= event.event_time < 2**63
        # What the inbox stores: JSON that any backend takes (UTF-8, no NUL in text).
        stored = json.dumps(event.payload, ensure_ascii=False)
        stored.encode("utf-8")
        assert "\\u0000" not in json.dumps(event.payload)
    times = [event.event_time for event in events]
    assert times == sorted(times)


@given(deliveries() | json_values)
def test_read_delivery_of_any_json(data: Any) -> None:
    body = json.dumps(data).encode()
    try:
        events = read_delivery(body)
    except InvalidPayload:
        return
    _check_stored(events)


@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_read_delivery_of_any_bytes(body: bytes) -> None:
    try:
        events = read_delivery(body)
    except InvalidPayload:
        return
    _check_stored(events)


@given(st.integers(1, 3000), st.sampled_from(["[", '{"a":']))
def test_deep_nesting_is_refused(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    inner = opener * depth + "0" + closer * depth
    body = f'{{"object":"page","entry":[{{"messaging":[{inner}]}}]}}'.encode()
    try:
        events = read_delivery(body)
    except InvalidPayload:
        return
    _check_stored(events)


@given(deliveries() | json_values)
def test_bodies_that_skip_sanitizing_need_none(data: Any) -> None:
    # The webhook skips the walk over every value when the raw body shows it cannot matter:
    # whatever such a body decodes to, sanitizing it must change and refuse nothing.
    from botperms.messenger.intake import decode_body, needs_sanitizing, sanitize

    for body in (json.dumps(data).encode(), json.dumps(data, ensure_ascii=False).encode()):
        if needs_sanitizing(body):
            continue
        try:
            decoded = decode_body(body)
        except InvalidPayload:  # NaN and Infinity: refused before sanitizing
            continue
        assert sanitize(decoded) == decoded

from __future__ import annotations

import pytest

from botperms.config import LoginFlow
from botperms.flows import FailureReason, FlowError, TicketSigner


def test_round_trip() -> None:
    signer = TicketSigner("app-secret", ttl_seconds=60)
    raw = signer.issue("1", "42", ["user_likes"], auth_type="rerequest", display_name="Al E.")
    ticket = signer.verify(raw)
    assert (ticket.page_id, ticket.psid, ticket.scopes) == ("1", "42", ("user_likes",))
    assert ticket.flow is LoginFlow.WEB
    assert ticket.auth_type == "rerequest"
    assert ticket.display_name == "Al E."
    assert ticket.ticket_id


def test_every_ticket_has_its_own_id() -> None:
    signer = TicketSigner("app-secret", ttl_seconds=60)
    first = signer.verify(signer.issue("1", "42", ["user_likes"]))
    second = signer.verify(signer.issue("1", "42", ["user_likes"]))
    assert first.ticket_id != second.ticket_id


def test_forged_or_tampered_ticket_is_refused() -> None:
    ours = TicketSigner("app-secret", ttl_seconds=60)
    theirs = TicketSigner("other-secret", ttl_seconds=60)
    with pytest.raises(FlowError) as info:
        ours.verify(theirs.issue("1", "42", ["user_likes"]))
    assert info.value.reason is FailureReason.TICKET_INVALID
    raw = ours.issue("1", "42", ["user_likes"])
    tampered = raw[:-3] + ("AAA" if not raw.endswith("AAA") else "BBB")
    with pytest.raises(FlowError) as info:
        ours.verify(tampered)
    assert info.value.reason is FailureReason.TICKET_INVALID
    with pytest.raises(FlowError):
        ours.verify("garbage")


def test_expired_ticket_names_its_person(monkeypatch: pytest.MonkeyPatch) -> None:
    import itsdangerous.timed as timed

    signer = TicketSigner("app-secret", ttl_seconds=60)
    real_time = timed.time.time
    monkeypatch.setattr(timed.time, "time", lambda: real_time() - 3600)
    raw = signer.issue("1", "42", ["user_likes"])
    monkeypatch.setattr(timed.time, "time", real_time)
    with pytest.raises(FlowError) as info:
        signer.verify(raw)
    assert info.value.reason is FailureReason.TICKET_EXPIRED
    assert (info.value.page_id, info.value.psid) == ("1", "42")


@pytest.mark.parametrize(
    "payload",
    [
        # Found by tests/fuzz: signed by our key but not our shape. Values were coerced with
        # str() (a list became "[]") or passed through (auth_type=[]), and an unhashable flow
        # raised TypeError.
        {"p": "1", "u": "2", "s": [], "f": "web", "j": "x", "a": []},
        {"p": "1", "u": "2", "s": [], "f": "web", "j": "x", "n": {"first": "Al"}},
        {"p": ["1"], "u": "2", "s": [], "f": "web", "j": "x"},
        {"p": "1", "u": None, "s": [], "f": "web", "j": "x"},
        {"p": "1", "u": "2", "s": [1], "f": "web", "j": "x"},
        {"p": "1", "u": "2", "s": "user_likes", "f": "web", "j": "x"},
        {"p": "1", "u": "2", "s": [], "f": ["web"], "j": "x"},
        {"p": "1", "u": "2", "s": [], "f": "web"},
        ["p", "u"],
    ],
)
def test_a_signed_payload_of_the_wrong_shape_is_invalid(payload: object) -> None:
    signer = TicketSigner("app-secret", ttl_seconds=60)
    with pytest.raises(FlowError) as info:
        signer.verify(signer._serializer.dumps(payload))
    assert info.value.reason is FailureReason.TICKET_INVALID


def test_a_display_name_with_a_lone_surrogate_can_be_issued() -> None:
    # Found by tests/fuzz: "\ud800" in the Graph API's JSON made issue() raise
    # UnicodeEncodeError, so the bot could not send the login prompt at all.
    signer = TicketSigner("app-secret", ttl_seconds=60)
    ticket = signer.verify(signer.issue("1", "42", ["user_likes"], display_name="Al\ud800 E."))
    assert ticket.display_name == "Al? E."

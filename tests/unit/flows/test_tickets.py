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

"""Login tickets: any string is a TICKET_INVALID FlowError; a ticket signed with our key but
holding anything (an old format, a bug) is a well-typed Ticket or a TICKET_INVALID."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from botperms.config import LoginFlow
from botperms.flows import FailureReason, FlowError
from botperms.flows.tickets import Ticket, TicketSigner
from tests.fuzz.strategies import json_values, text

signer = TicketSigner("fuzz-app-secret", ttl_seconds=600)


def _verify(token: str) -> Ticket | None:
    try:
        ticket = signer.verify(token)
    except FlowError as exc:
        refused = exc.reason
        assert refused in (FailureReason.TICKET_INVALID, FailureReason.TICKET_EXPIRED)
        return None
    assert isinstance(ticket.page_id, str)
    assert isinstance(ticket.psid, str)
    assert all(isinstance(scope, str) for scope in ticket.scopes)
    assert isinstance(ticket.flow, LoginFlow)
    assert isinstance(ticket.ticket_id, str)
    assert ticket.auth_type is None or isinstance(ticket.auth_type, str)
    assert ticket.display_name is None or isinstance(ticket.display_name, str)
    return ticket


@given(st.text(max_size=200) | st.from_regex(r"\A[A-Za-z0-9_.-]{0,200}\Z"))
def test_any_string_is_not_a_ticket(token: str) -> None:
    assert _verify(token) is None


@given(st.integers(0, 300), st.characters(codec="ascii"))
def test_a_changed_character_is_not_a_ticket(where: int, char: str) -> None:
    token = signer.issue("1", "2", ["user_likes"], display_name="Alice E.")
    index = where % len(token)
    changed = token[:index] + char + token[index + 1 :]
    ticket = _verify(changed)
    assert ticket is None or ticket == _verify(token) or changed == token


flows = st.sampled_from(["web", "account_link"]) | json_values
fields = st.fixed_dictionaries(
    {},
    optional={name: flows if name == "f" else json_values for name in "pusfanj"},
)


@given(fields | json_values)
def test_our_signature_over_any_payload(payload: Any) -> None:
    # The serializer is what issue() uses; only the payload is arbitrary.
    try:
        token = signer._serializer.dumps(payload)
    except UnicodeEncodeError:
        return  # a lone surrogate cannot be signed, so no such ticket exists
    _verify(token)


# Ids and scopes reach issue() from the intake and the settings, which keep text storable.
storable = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@given(storable, storable, st.lists(storable, max_size=3), st.none() | storable, st.none() | text)
def test_what_we_issue_verifies_as_issued(
    page_id: str, psid: str, scopes: list[str], auth_type: str | None, name: str | None
) -> None:
    # The display name comes from the Graph API as it is, lone surrogates included.
    token = signer.issue(page_id, psid, scopes, auth_type=auth_type, display_name=name)
    ticket = _verify(token)
    assert ticket is not None
    assert (ticket.page_id, ticket.psid, ticket.scopes) == (page_id, psid, tuple(scopes))
    assert ticket.auth_type == auth_type
    if name is not None and ticket.display_name != name:
        assert ticket.display_name == name.encode("utf-8", "replace").decode()

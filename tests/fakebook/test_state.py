"""The in-memory world and grants (fakebook.state)."""

from __future__ import annotations

from fakebook.config import FakebookConfig
from fakebook.state import Grants, State


def test_grants_move_between_lists() -> None:
    grants = Grants()
    grants.grant("email")
    grants.decline("email")
    grants.decline("public_profile")
    assert grants.describe() == {"granted": ["public_profile"], "declined": ["email"]}
    grants.grant("email")
    assert grants.describe() == {"granted": ["public_profile", "email"], "declined": []}


def test_remove_app_and_reset() -> None:
    state = State(FakebookConfig(), clock=lambda: 10.0)
    alice = state.people[0]
    assert state.person(alice.psid) is state.person(alice.asid) is alice
    token = state.tokens.issue_user(
        alice.asid, now=0, ttl=100, data_access_ttl=100, long_lived=False
    )
    state.grants_of(alice.asid).grant("user_likes")
    state.remove_app(alice.asid)
    assert alice.asid not in state.grants
    assert token.invalidated == "app_removed"
    state.conversation(alice.psid).add_incoming({"kind": "message", "text": "x"}, now=1)
    state.reset()
    assert state.conversations == {}
    assert state.tokens.users == {}
    assert state.now() == 10.0

"""Threads and the 24-hour window (fakebook.conversations)."""

from __future__ import annotations

from fakebook.conversations import Conversation


def test_window_follows_last_user_activity() -> None:
    thread = Conversation(psid="1")
    assert not thread.window_open(0, 100)
    assert thread.window_closes_at(100) is None
    thread.add_incoming({"kind": "message", "text": "hi"}, now=1000)
    assert thread.window_open(1099.9, 100)
    assert not thread.window_open(1100, 100)
    thread.add_outgoing(now=1050, messaging_type="RESPONSE", message={"text": "yo"})
    assert thread.window_closes_at(100) == 1100  # the page's replies do not extend it


def test_entries_shape() -> None:
    thread = Conversation(psid="1")
    incoming = thread.add_incoming({"kind": "message", "text": "hi"}, now=1.5)
    outgoing = thread.add_outgoing(now=2, messaging_type=None, sender_action="typing_on")
    assert incoming["direction"] == "in"
    assert incoming["time"] == 1500
    assert incoming["mid"].startswith("m_")
    assert incoming["mid"] != outgoing["mid"]
    assert outgoing == {
        "direction": "out",
        "mid": outgoing["mid"],
        "time": 2000,
        "messaging_type": None,
        "sender_action": "typing_on",
    }

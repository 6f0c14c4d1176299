"""The person's side of the thread (fakebook.chat)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from fakebook.chat import Chat, ChatError
from tests.fakebook.fbtesting import ALICE_PSID, Clock


async def test_actions_record_and_queue(app: Starlette, clock: Clock) -> None:
    chat: Chat = app.state.chat
    thread = app.state.fakebook.conversation(ALICE_PSID)
    assert not thread.window_open(clock.now, 86400)
    entry, delivery = chat.message(ALICE_PSID, "yes", "YES")
    assert entry["quick_reply"] == {"payload": "YES"}
    assert entry["time"] == int(clock.now * 1000)
    record = await delivery
    assert record["kind"] == "message"
    assert record["mid"] == entry["mid"]
    assert thread.window_open(clock.now, 86400)
    _, delivery = chat.postback(ALICE_PSID, "Later", "LATER")
    assert (await delivery)["kind"] == "postback"
    await app.state.deliverer.aclose()


def test_invalid_actions(app: Starlette) -> None:
    chat: Chat = app.state.chat
    with pytest.raises(ChatError, match="PSID"):
        chat.message("1", "hi")
    with pytest.raises(ChatError):
        chat.message(ALICE_PSID, "")
    with pytest.raises(ChatError):
        chat.postback(ALICE_PSID, "t", "")
    with pytest.raises(ChatError):
        chat.referral(ALICE_PSID, "no spaces allowed")

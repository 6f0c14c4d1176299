"""The handover protocol in fakebook: thread control calls, owner errors, standby delivery and
the Page Inbox's person (contract §1.4)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.fakebook.fbtesting import (
    ALICE_PSID,
    APP_ID,
    BOB_PSID,
    FB,
    PAGE_ID,
    PAGE_TOKEN,
    Receiver,
    proof,
)

PAGE_INBOX = "263902037430900"


async def post(fb: FB, action: str, body: dict[str, Any]) -> httpx.Response:
    params = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    return await fb.client.post(f"/v25.0/me/{action}", params=params, json=body)


async def owner(fb: FB, psid: str) -> str:
    answer = await fb.graph("GET", "me/thread_owner", recipient=psid)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"][0]["thread_owner"]["app_id"])


def last_body(receiver: Receiver) -> dict[str, Any]:
    return json.loads(receiver.bodies[-1])


async def test_a_thread_belongs_to_the_bot_until_it_is_passed(fb: FB) -> None:
    assert await owner(fb, ALICE_PSID) == APP_ID
    passed = await post(
        fb,
        "pass_thread_control",
        {"recipient": {"id": ALICE_PSID}, "target_app_id": int(PAGE_INBOX), "metadata": "help"},
    )
    assert passed.json() == {"success": True}
    assert await owner(fb, ALICE_PSID) == PAGE_INBOX
    assert await owner(fb, BOB_PSID) == APP_ID  # per thread
    taken = await post(fb, "take_thread_control", {"recipient": {"id": ALICE_PSID}})
    assert taken.json() == {"success": True}
    assert await owner(fb, ALICE_PSID) == APP_ID


async def test_facebook_errors_for_the_wrong_owner_and_bad_targets(fb: FB) -> None:
    recipient = {"recipient": {"id": ALICE_PSID}}
    bad_target = await post(fb, "pass_thread_control", {**recipient, "target_app_id": 42})
    assert bad_target.status_code == 400
    assert bad_target.json()["error"]["code"] == 100
    await post(fb, "pass_thread_control", {**recipient, "target_app_id": PAGE_INBOX})
    again = await post(fb, "pass_thread_control", {**recipient, "target_app_id": PAGE_INBOX})
    assert again.status_code in (400, 403)
    assert again.json()["error"]["code"] == 200  # no longer the owner
    unknown = await post(fb, "take_thread_control", {"recipient": {"id": "404"}})
    assert unknown.json()["error"]["error_subcode"] == 2018001
    own = await post(fb, "request_thread_control", recipient)
    assert own.json() == {"success": True}  # the Page Inbox has it: asking is allowed
    await post(fb, "take_thread_control", recipient)
    mine = await post(fb, "request_thread_control", recipient)
    assert mine.json()["error"]["code"] == 100  # asking for a thread the app already has
    long = await post(fb, "take_thread_control", {**recipient, "metadata": "x" * 1001})
    assert long.json()["error"]["code"] == 100


async def test_the_page_inbox_is_the_secondary_receiver(fb: FB) -> None:
    answer = await fb.graph("GET", "me/secondary_receivers", fields="id,name")
    assert answer.json() == {"data": [{"id": PAGE_INBOX, "name": "Page Inbox"}]}


async def test_messages_go_to_standby_while_a_person_answers(fb: FB, receiver: Receiver) -> None:
    await post(
        fb,
        "pass_thread_control",
        {"recipient": {"id": ALICE_PSID}, "target_app_id": PAGE_INBOX},
    )
    sent = await fb.client.post(f"/_fakebook/chat/{ALICE_PSID}/message?wait=1", json={"text": "hi"})
    assert sent.status_code == 200
    entry = last_body(receiver)["entry"][0]
    assert "messaging" not in entry
    assert entry["standby"][0]["message"]["text"] == "hi"
    # Bob's thread is still the bot's.
    await fb.client.post(f"/_fakebook/chat/{BOB_PSID}/message?wait=1", json={"text": "yo"})
    assert last_body(receiver)["entry"][0]["messaging"][0]["message"]["text"] == "yo"


async def test_the_page_inbox_person_replies_and_hands_back(fb: FB, receiver: Receiver) -> None:
    chat = f"/_fakebook/chat/{ALICE_PSID}"
    refused = await fb.client.post(f"{chat}/inbox/reply", json={"text": "Hello"})
    assert refused.status_code == 400  # the bot owns the thread: the Page Inbox cannot answer
    await post(
        fb,
        "pass_thread_control",
        {"recipient": {"id": ALICE_PSID}, "target_app_id": PAGE_INBOX},
    )
    state = (await fb.client.get(chat)).json()
    assert state["thread_owner"] == PAGE_INBOX
    replied = await fb.client.post(f"{chat}/inbox/reply?wait=1", json={"text": "Hello, I'm Sam"})
    assert replied.status_code == 200
    echo = last_body(receiver)["entry"][0]["standby"][0]
    assert echo["sender"]["id"] == PAGE_ID
    assert echo["message"]["is_echo"] is True
    assert echo["message"]["app_id"] == int(PAGE_INBOX)
    back = await fb.client.post(f"{chat}/inbox/hand_back?wait=1", json={"metadata": "done"})
    assert back.json()["owner"] == APP_ID
    event = last_body(receiver)["entry"][0]["messaging"][0]
    assert event["pass_thread_control"] == {
        "previous_owner_app_id": PAGE_INBOX,
        "new_owner_app_id": APP_ID,
        "metadata": "done",
    }
    entries = (await fb.client.get(chat)).json()["entries"]
    assert [e.get("action") for e in entries if e["direction"] == "handover"] == [
        "pass_thread_control",
        "pass_thread_control",
    ]
    assert any(e.get("from") == "page_inbox" for e in entries)
    twice = await fb.client.post(f"{chat}/inbox/hand_back")
    assert twice.status_code == 409  # the Page Inbox no longer owns it


async def test_the_page_inbox_asks_the_bot_for_a_thread(fb: FB, receiver: Receiver) -> None:
    asked = await fb.client.post(f"/_fakebook/chat/{ALICE_PSID}/inbox/request?wait=1", json={})
    assert asked.status_code == 200
    event = last_body(receiver)["entry"][0]["messaging"][0]
    assert event["request_thread_control"] == {"requested_owner_app_id": PAGE_INBOX}
    thread = (await fb.client.get(f"/_fakebook/threads/{ALICE_PSID}")).json()
    assert thread["owner"] == APP_ID
    assert [e["action"] for e in thread["log"]] == ["request_thread_control"]

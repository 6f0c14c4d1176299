"""The control API under /_fakebook/ (fakebook.control)."""

from __future__ import annotations

import asyncio

import httpx

from tests.fakebook.fbtesting import (
    ALICE_ASID,
    ALICE_PSID,
    BOB_PSID,
    FB,
    PAGE_TOKEN,
    Clock,
    Receiver,
    proof,
)


async def test_people(client: httpx.AsyncClient) -> None:
    people = (await client.get("/_fakebook/people")).json()
    assert len(people) == 4
    assert people[0] == {
        "psid": ALICE_PSID,
        "asid": ALICE_ASID,
        "name": "Alice Example",
        "first_name": "Alice",
        "last_name": "Example",
        "likes_count": 42,
    }


async def test_message_quick_reply_and_postback(fb: FB, receiver: Receiver) -> None:
    reply = await fb.client.post(
        f"/_fakebook/chat/{ALICE_PSID}/message?wait=true",
        json={"quick_reply": {"title": "Red", "payload": "PICK_RED"}},
    )
    assert reply.json()["webhook_status"] == 200
    postback = await fb.client.post(
        f"/_fakebook/chat/{ALICE_PSID}/postback?wait=true",
        json={"title": "Get Started", "payload": "GET_STARTED"},
    )
    assert postback.json()["delivery"] == "delivered"
    events = [
        httpx.Response(200, content=b).json()["entry"][0]["messaging"][0] for b in receiver.bodies
    ]
    assert events[0]["message"]["quick_reply"] == {"payload": "PICK_RED"}
    assert events[0]["message"]["text"] == "Red"
    assert events[1]["postback"] == {
        "mid": postback.json()["mid"],
        "title": "Get Started",
        "payload": "GET_STARTED",
    }
    thread = (await fb.client.get(f"/_fakebook/conversations/{ALICE_PSID}")).json()
    assert [entry["kind"] for entry in thread] == ["message", "postback"]


async def test_without_wait_answers_202_then_delivers(fb: FB, receiver: Receiver) -> None:
    answer = await fb.client.post(f"/_fakebook/chat/{ALICE_PSID}/message", json={"text": "hi"})
    assert answer.status_code == 202
    for _ in range(100):
        log = (await fb.client.get("/_fakebook/deliveries")).json()
        if log[0]["status"] != "pending":
            break
        await asyncio.sleep(0.01)
    assert log[0]["status"] == "delivered"
    assert len(receiver.bodies) == 1


async def test_bad_requests(client: httpx.AsyncClient) -> None:
    assert (await client.post("/_fakebook/chat/42/message", json={"text": "x"})).status_code == 404
    empty = await client.post(f"/_fakebook/chat/{ALICE_PSID}/message", json={"text": ""})
    assert empty.status_code == 400
    not_json = await client.post(f"/_fakebook/chat/{ALICE_PSID}/postback", content=b"[1]")
    assert not_json.status_code == 400
    bad_ref = await client.post(f"/_fakebook/chat/{ALICE_PSID}/referral", json={"ref": "a b"})
    assert bad_ref.status_code == 400
    assert (await client.get("/_fakebook/conversations/42")).status_code == 404
    assert (await client.get("/_fakebook/grants/42")).status_code == 404
    assert (await client.post("/_fakebook/faults", json={"error": {}})).status_code == 400


async def test_referral_reopens_window(fb: FB, clock: Clock) -> None:
    await fb.say()
    clock.advance(2 * 86400)
    state = (await fb.client.get(f"/_fakebook/chat/{ALICE_PSID}")).json()
    assert state["window_open"] is False
    await fb.client.post(f"/_fakebook/chat/{ALICE_PSID}/referral?wait=1", json={"ref": "signup-42"})
    state = (await fb.client.get(f"/_fakebook/chat/{ALICE_PSID}")).json()
    assert state["window_open"] is True
    assert state["entries"][-1]["referral"]["ref"] == "signup-42"
    assert state["last_delivery"]["kind"] == "referral"
    assert "body" not in state["last_delivery"]


async def test_sent_filter_and_deliveries(fb: FB) -> None:
    await fb.say(ALICE_PSID)
    await fb.say(BOB_PSID)
    for psid in (ALICE_PSID, BOB_PSID):
        body = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": "x"}}
        assert (await fb.send(body)).status_code == 200
    assert len((await fb.client.get("/_fakebook/sent")).json()) == 2
    only_bob = (await fb.client.get("/_fakebook/sent", params={"psid": BOB_PSID})).json()
    assert [call["psid"] for call in only_bob] == [BOB_PSID]
    deliveries = (await fb.client.get("/_fakebook/deliveries", params={"psid": BOB_PSID})).json()
    assert len(deliveries) == 1
    assert deliveries[0]["status"] == "delivered"
    assert deliveries[0]["attempts"] == 1


async def test_reset_restores_the_seed(fb: FB) -> None:
    token = await fb.user_token()
    await fb.say()
    assert (await fb.client.post("/_fakebook/reset")).json() == {"ok": True}
    assert (await fb.client.get(f"/_fakebook/conversations/{ALICE_PSID}")).json() == []
    assert (await fb.client.get("/_fakebook/deliveries")).json() == []
    assert (await fb.client.get(f"/_fakebook/grants/{ALICE_ASID}")).json()["installed"] is False
    assert (await fb.graph("GET", "me", token=token)).json()["error"]["code"] == 190


async def test_expire_tokens(fb: FB) -> None:
    token = await fb.user_token()
    answer = await fb.client.post("/_fakebook/tokens/expire", json={"asid": ALICE_ASID})
    assert answer.json() == {"expired": 1}
    assert (await fb.graph("GET", "me", token=token)).json()["error"]["error_subcode"] == 463
    unknown = await fb.client.post("/_fakebook/tokens/expire", json={"asid": "1"})
    assert unknown.status_code == 404


async def test_invalidate_app_removed(fb: FB) -> None:
    token = await fb.user_token()
    await fb.client.post(
        "/_fakebook/tokens/invalidate", json={"asid": ALICE_ASID, "reason": "app_removed"}
    )
    assert (await fb.graph("GET", "me", token=token)).json()["error"]["error_subcode"] == 458
    bad = await fb.client.post(
        "/_fakebook/tokens/invalidate", json={"asid": ALICE_ASID, "reason": "bored"}
    )
    assert bad.status_code == 400


async def test_faults_listing(fb: FB) -> None:
    fault = {
        "path_contains": "/me",
        "method": "GET",
        "error": {"code": 4, "subcode": 2018022, "message": "(#4) Rate"},
    }
    listed = (await fb.client.post("/_fakebook/faults", json=fault)).json()
    assert listed[0]["remaining"] == 1
    params = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    hit = await fb.client.get("/v25.0/me", params=params)
    assert hit.json()["error"]["error_subcode"] == 2018022
    assert (await fb.client.get("/_fakebook/faults")).json() == []

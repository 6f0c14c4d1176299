"""The Send API (fakebook.graph.send)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fakebook.fbtesting import (
    ALICE_ASID,
    ALICE_PSID,
    BOB_PSID,
    FB,
    PAGE_ID,
    PAGE_TOKEN,
    Clock,
    proof,
)


def body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "recipient": {"id": ALICE_PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "hello, world"},
    }
    base.update(overrides)
    return base


def error_of(answer: httpx.Response) -> tuple[int, int | None]:
    error = answer.json()["error"]
    return error["code"], error.get("error_subcode")


async def test_send_inside_window_is_recorded(fb: FB, client: httpx.AsyncClient) -> None:
    await fb.say(text="hi bot")
    answer = await fb.send(body())
    assert answer.status_code == 200
    result = answer.json()
    assert result["recipient_id"] == ALICE_PSID
    assert result["message_id"].startswith("m_")
    thread = (await client.get(f"/_fakebook/conversations/{ALICE_PSID}")).json()
    assert [entry["direction"] for entry in thread] == ["in", "out"]
    assert thread[1]["message"] == {"text": "hello, world"}
    assert thread[1]["mid"] == result["message_id"]
    sent = (await client.get("/_fakebook/sent", params={"psid": ALICE_PSID})).json()
    assert len(sent) == 1
    assert sent[0]["messaging_type"] == "RESPONSE"


async def test_page_id_path_works_and_other_page_does_not(fb: FB) -> None:
    await fb.say()
    params = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    good = await fb.client.post(f"/v25.0/{PAGE_ID}/messages", params=params, json=body())
    assert good.status_code == 200
    other = await fb.client.post("/v25.0/123/messages", params=params, json=body())
    assert error_of(other) == (100, 33)


async def test_window_closed_before_first_message_and_after_24h(fb: FB, clock: Clock) -> None:
    answer = await fb.send(body())
    assert answer.status_code == 403
    assert error_of(answer) == (10, 2018278)
    await fb.say()
    clock.advance(86399)
    assert (await fb.send(body())).status_code == 200
    clock.advance(2)
    assert error_of(await fb.send(body())) == (10, 2018278)
    # A postback reopens it.
    await fb.client.post(
        f"/_fakebook/chat/{ALICE_PSID}/postback", json={"title": "Hi", "payload": "P"}
    )
    assert (await fb.send(body())).status_code == 200


async def test_message_tags_outside_window(fb: FB, clock: Clock) -> None:
    await fb.say()
    clock.advance(3 * 86400)
    tagged = body(messaging_type="MESSAGE_TAG", tag="ACCOUNT_UPDATE")
    assert (await fb.send(tagged)).status_code == 200
    human = body(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    assert (await fb.send(human)).status_code == 200
    clock.advance(5 * 86400)
    assert error_of(await fb.send(human)) == (10, 2018278)
    assert error_of(await fb.send(body(messaging_type="MESSAGE_TAG"))) == (100, None)
    assert error_of(await fb.send(body(messaging_type="MESSAGE_TAG", tag="PROMO"))) == (100, None)


@pytest.mark.parametrize(
    "recipient",
    [{"id": ALICE_ASID}, {"id": "123"}, {"user_ref": "abc"}, {"phone_number": "+15555550100"}],
)
async def test_unknown_recipient_is_2018001(fb: FB, recipient: dict[str, str]) -> None:
    await fb.say()
    answer = await fb.send(body(recipient=recipient))
    assert error_of(answer) == (100, 2018001)
    assert answer.json()["error"]["message"] == "(#100) No matching user found"


async def test_messaging_type_required_and_checked(fb: FB) -> None:
    await fb.say()
    missing = body()
    del missing["messaging_type"]
    answer = await fb.send(missing)
    assert error_of(answer) == (100, None)
    assert "messaging_type" in answer.json()["error"]["message"]
    assert (
        "messaging_type" in (await fb.send(body(messaging_type="PUSH"))).json()["error"]["message"]
    )


async def test_invalid_message_is_rejected_and_not_recorded(
    fb: FB, client: httpx.AsyncClient
) -> None:
    await fb.say()
    answer = await fb.send(body(message={"text": "x" * 2001}))
    assert error_of(answer) == (100, None)
    assert "2000" in answer.json()["error"]["message"]
    assert (await client.get("/_fakebook/sent")).json() == []


async def test_sender_action(fb: FB, client: httpx.AsyncClient) -> None:
    await fb.say()
    answer = await fb.send({"recipient": {"id": ALICE_PSID}, "sender_action": "typing_on"})
    assert answer.json() == {"recipient_id": ALICE_PSID}
    both = await fb.send({**body(), "sender_action": "mark_seen"})
    assert error_of(both) == (100, None)
    bad = await fb.send({"recipient": {"id": ALICE_PSID}, "sender_action": "dance"})
    assert error_of(bad) == (100, None)
    thread = (await client.get(f"/_fakebook/conversations/{ALICE_PSID}")).json()
    assert thread[-1]["sender_action"] == "typing_on"


async def test_only_page_token_may_send(fb: FB) -> None:
    token = await fb.user_token(BOB_PSID)
    await fb.say(BOB_PSID)
    answer = await fb.send(body(recipient={"id": BOB_PSID}), token=token)
    assert error_of(answer) == (230, None)


async def test_missing_recipient_and_message(fb: FB) -> None:
    await fb.say()
    assert error_of(await fb.send({"messaging_type": "RESPONSE", "message": {"text": "x"}})) == (
        100,
        None,
    )
    assert error_of(
        await fb.send({"recipient": {"id": ALICE_PSID}, "messaging_type": "RESPONSE"})
    ) == (
        100,
        None,
    )

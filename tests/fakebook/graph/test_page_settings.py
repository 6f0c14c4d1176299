"""`/{page-id}/subscribed_apps` and `/{page-id}/custom_user_settings` (graph.page_settings)."""

from __future__ import annotations

import json

import httpx

from tests.fakebook.fbtesting import ALICE_PSID, APP_ID, BOB_PSID, FB, PAGE_ID, PAGE_TOKEN, proof

MENU = [
    {
        "locale": "default",
        "composer_input_disabled": False,
        "call_to_actions": [{"type": "postback", "title": "Just for you", "payload": "MINE"}],
    }
]


async def _post(fb: FB, path: str, body: dict[str, object]) -> httpx.Response:
    params = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
    return await fb.client.post(f"/v25.0/{path}", params=params, json=body)


async def test_subscribe_list_unsubscribe(fb: FB) -> None:
    # Departure 4: the contract names POST /{page-id}/subscribed_apps (§1.3).
    assert (await fb.graph("GET", f"{PAGE_ID}/subscribed_apps")).json() == {"data": []}
    answer = await fb.graph(
        "POST", f"{PAGE_ID}/subscribed_apps", subscribed_fields="messages,messaging_postbacks"
    )
    assert answer.json() == {"success": True}
    listed = (await fb.graph("GET", "me/subscribed_apps")).json()["data"]
    assert [(app["id"], app["subscribed_fields"]) for app in listed] == [
        (APP_ID, ["messages", "messaging_postbacks"])
    ]
    control = (await fb.client.get("/_fakebook/subscription")).json()
    assert control == {"subscribed": True, "subscribed_fields": ["messages", "messaging_postbacks"]}
    assert (await fb.graph("DELETE", f"{PAGE_ID}/subscribed_apps")).json() == {"success": True}
    assert (await fb.client.get("/_fakebook/subscription")).json()["subscribed"] is False


async def test_subscribe_needs_known_fields_and_the_page_token(fb: FB) -> None:
    missing = await fb.graph("POST", f"{PAGE_ID}/subscribed_apps")
    assert missing.json()["error"]["code"] == 100
    unknown = await _post(fb, f"{PAGE_ID}/subscribed_apps", {"subscribed_fields": ["shoes"]})
    assert "subscribed_fields[0]" in unknown.json()["error"]["message"]
    other_page = await fb.graph("POST", "123/subscribed_apps", subscribed_fields="messages")
    assert other_page.json()["error"]["error_subcode"] == 33
    token = await fb.user_token()
    as_user = await fb.graph("POST", "me/subscribed_apps", token=token, subscribed_fields="feed")
    assert as_user.json()["error"]["code"] == 230


async def test_user_menu_set_get_delete(fb: FB) -> None:
    # Departure 4: the per-person persistent menu (contract §4).
    no_get_started = await _post(
        fb, f"{PAGE_ID}/custom_user_settings", {"psid": ALICE_PSID, "persistent_menu": MENU}
    )
    assert no_get_started.json()["error"]["code"] == 100
    await _post(fb, "me/messenger_profile", {"get_started": {"payload": "GO"}})
    answer = await _post(
        fb, f"{PAGE_ID}/custom_user_settings", {"psid": ALICE_PSID, "persistent_menu": MENU}
    )
    assert answer.json() == {"result": "success"}
    got = await fb.graph("GET", f"{PAGE_ID}/custom_user_settings", psid=ALICE_PSID)
    assert got.json() == {"data": [{"user_level_persistent_menu": MENU}]}
    empty = await fb.graph("GET", f"{PAGE_ID}/custom_user_settings", psid=BOB_PSID)
    assert empty.json() == {"data": []}
    # The simulator shows Alice her own menu, and Bob none.
    alice = (await fb.client.get(f"/_fakebook/chat/{ALICE_PSID}")).json()["profile"]
    assert alice["persistent_menu"]["call_to_actions"][0]["title"] == "Just for you"
    bob = (await fb.client.get(f"/_fakebook/chat/{BOB_PSID}")).json()["profile"]
    assert bob["persistent_menu"] is None
    deleted = await fb.graph(
        "DELETE",
        f"{PAGE_ID}/custom_user_settings",
        psid=ALICE_PSID,
        params=json.dumps(["persistent_menu"]),
    )
    assert deleted.json() == {"result": "success"}
    gone = await fb.graph("GET", f"{PAGE_ID}/custom_user_settings", psid=ALICE_PSID)
    assert gone.json() == {"data": []}


async def test_user_menu_checks_psid_and_menu_rules(fb: FB) -> None:
    await _post(fb, "me/messenger_profile", {"get_started": {"payload": "GO"}})
    stranger = await _post(fb, "me/custom_user_settings", {"psid": "123", "persistent_menu": MENU})
    assert stranger.json()["error"]["error_subcode"] == 2018001
    item = {"type": "postback", "title": "x" * 31, "payload": "P"}
    too_long = [{**MENU[0], "call_to_actions": [item]}]
    bad = await _post(
        fb, "me/custom_user_settings", {"psid": ALICE_PSID, "persistent_menu": too_long}
    )
    assert "title" in bad.json()["error"]["message"]

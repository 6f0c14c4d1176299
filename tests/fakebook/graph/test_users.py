"""`/me`, `/{id}`, permissions and likes (fakebook.graph.users)."""

from __future__ import annotations

import httpx

from tests.fakebook.fbtesting import (
    ALICE_ASID,
    ALICE_PSID,
    APP_ID,
    APP_SECRET,
    BOB_ASID,
    BOB_PSID,
    FB,
    ZOE_PSID,
    proof,
)

APP_TOKEN = f"{APP_ID}|{APP_SECRET}"


async def test_me_fields_for_user(fb: FB) -> None:
    token = await fb.user_token(scopes="user_likes")
    answer = await fb.graph("GET", "me", token=token, fields="first_name,last_name,email")
    # email was not granted, so it is left out, as Facebook does.
    assert answer.json() == {"first_name": "Alice", "last_name": "Example", "id": ALICE_ASID}
    token = await fb.user_token(scopes="email")
    answer = await fb.graph("GET", "me", token=token, fields="email")
    assert answer.json()["email"] == "alice.example@example.com"
    unknown = await fb.graph("GET", "me", token=token, fields="shoe_size")
    assert unknown.json()["error"]["code"] == 100


async def test_psid_profile_with_page_token(fb: FB, client: httpx.AsyncClient) -> None:
    answer = await fb.graph("GET", ZOE_PSID, fields="first_name,last_name,name,profile_pic")
    profile = answer.json()
    assert profile["name"] == "Zoë Åkesson"
    assert profile["id"] == ZOE_PSID
    assert profile["profile_pic"] == f"https://fakebook.test/avatar/{ZOE_PSID}.svg"
    picture = await client.get(f"/avatar/{ZOE_PSID}.svg")
    assert picture.headers["content-type"].startswith("image/svg+xml")
    assert "ZÅ" in picture.text


async def test_psid_is_not_readable_with_a_user_token(fb: FB) -> None:
    token = await fb.user_token()
    answer = await fb.graph("GET", ALICE_PSID, token=token)
    assert answer.json()["error"]["error_subcode"] == 33


async def test_permissions_list_and_revoke_one(fb: FB) -> None:
    token = await fb.user_token(scopes="user_likes,email", keep=("user_likes",))
    data = (await fb.graph("GET", "me/permissions", token=token)).json()["data"]
    assert data == [
        {"permission": "public_profile", "status": "granted"},
        {"permission": "user_likes", "status": "granted"},
        {"permission": "email", "status": "declined"},
    ]
    revoked = await fb.graph("DELETE", "me/permissions/user_likes", token=token)
    assert revoked.json() == {"success": True}
    data = (await fb.graph("GET", "me/permissions", token=token)).json()["data"]
    assert {"permission": "user_likes", "status": "declined"} in data
    # The token stays valid but loses the scope at once.
    likes = await fb.graph("GET", "me/likes", token=token)
    assert likes.status_code == 403
    assert likes.json()["error"]["code"] == 200


async def test_removing_the_app_kills_every_token(fb: FB) -> None:
    first = await fb.user_token()
    second = await fb.user_token()
    assert (await fb.graph("DELETE", "me/permissions", token=first)).json() == {"success": True}
    for token in (first, second):
        error = (await fb.graph("GET", "me", token=token)).json()["error"]
        assert (error["code"], error["error_subcode"]) == (190, 458)


async def test_permissions_by_asid_with_app_token(fb: FB) -> None:
    await fb.user_token(BOB_PSID, scopes="user_likes")
    listed = await fb.graph("GET", f"{BOB_ASID}/permissions", token=APP_TOKEN)
    assert {"permission": "user_likes", "status": "granted"} in listed.json()["data"]
    # Someone who never logged in to the app is not visible to it.
    stranger = await fb.graph("GET", f"{ALICE_ASID}/permissions", token=APP_TOKEN)
    assert stranger.json()["error"]["error_subcode"] == 33
    removed = await fb.graph("DELETE", f"{BOB_ASID}/permissions", token=APP_TOKEN)
    assert removed.json() == {"success": True}
    assert (await fb.graph("GET", f"{BOB_ASID}/permissions", token=APP_TOKEN)).status_code == 400


async def test_likes_paging_follows_next_to_the_end(fb: FB, client: httpx.AsyncClient) -> None:
    token = await fb.user_token(BOB_PSID)
    first = await fb.graph("GET", "me/likes", token=token, limit=25)
    body = first.json()
    assert len(body["data"]) == 25
    assert set(body["data"][0]) == {"name", "id", "created_time"}
    assert body["summary"] == {}
    seen = [page["id"] for page in body["data"]]
    pages = 1
    next_url = body["paging"]["next"]
    assert next_url.startswith("https://fakebook.test/v25.0/" + BOB_ASID + "/likes?")
    assert f"appsecret_proof={proof(token)}" in next_url
    assert "previous" not in body["paging"]
    while next_url:
        page = (await client.get(next_url)).json()
        seen += [item["id"] for item in page["data"]]
        pages += 1
        next_url = page["paging"].get("next")
    assert pages == 3
    assert len(seen) == len(set(seen)) == 57
    times = [item["created_time"] for item in first.json()["data"]]
    assert times == sorted(times, reverse=True)


async def test_likes_before_cursor_and_fields(fb: FB, client: httpx.AsyncClient) -> None:
    token = await fb.user_token()
    first = (await fb.graph("GET", "me/likes", token=token, limit=10, fields="name")).json()
    assert set(first["data"][0]) == {"name", "id"}
    second = (await client.get(first["paging"]["next"])).json()
    assert "fields=name" in first["paging"]["next"]
    back = (await client.get(second["paging"]["previous"])).json()
    assert back["data"] == first["data"]


async def test_likes_few_and_limits(fb: FB) -> None:
    token = await fb.user_token(ZOE_PSID)
    body = (await fb.graph("GET", "me/likes", token=token, summary="true")).json()
    assert len(body["data"]) == 3
    assert "next" not in body["paging"]
    assert body["summary"] == {"total_count": 3}
    target = body["data"][1]["id"]
    one = (await fb.graph("GET", "me/likes", token=token, target_id=target)).json()
    assert [page["id"] for page in one["data"]] == [target]
    assert (await fb.graph("GET", "me/likes", token=token, limit=0)).status_code == 400
    assert (await fb.graph("GET", "me/likes", token=token, after="bogus")).status_code == 400


async def test_likes_need_the_scope_and_a_user_token(fb: FB) -> None:
    token = await fb.user_token(ALICE_PSID, scopes="email")
    assert (await fb.graph("GET", "me/likes", token=token)).json()["error"]["code"] == 200
    assert (await fb.graph("GET", "me/likes")).json()["error"]["code"] == 2500

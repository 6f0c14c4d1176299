"""User node standard fields, `/{id}/picture` and the User Profile API (fakebook.graph.nodes)."""

from __future__ import annotations

import httpx
import pytest

from fakebook import create_app
from fakebook.errors import GraphError
from fakebook.graph.fields import FieldSpec, parse_fields
from tests.fakebook.fbtesting import (
    ALICE_ASID,
    ALICE_PSID,
    BASE,
    FB,
    PAGE_TOKEN,
    make_config,
    proof,
)


def test_field_syntax_with_modifiers_and_nested_lists() -> None:
    parsed = parse_fields("name, picture.type(large){url,width},likes.limit(2){name}")
    assert parsed == (
        FieldSpec("name"),
        FieldSpec("picture", {"type": "large"}, (FieldSpec("url"), FieldSpec("width"))),
        FieldSpec("likes", {"limit": "2"}, (FieldSpec("name"),)),
    )


@pytest.mark.parametrize("text", ["name,{url}", "picture{url", "name}", "a..b"])
def test_bad_field_syntax_is_code_100(text: str) -> None:
    with pytest.raises(GraphError) as caught:
        parse_fields(text)
    assert caught.value.code == 100


async def test_user_node_answers_standard_fields(fb: FB) -> None:
    # Departure 1: `fields=name,picture` (and middle_name, short_name…) answered, not a 400.
    token = await fb.user_token(scopes="user_likes")
    answer = await fb.graph(
        "GET", "me", token=token, fields="name,picture,middle_name,short_name,name_format,link"
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["name"] == "Alice Example"
    assert body["short_name"] == "Alice"
    assert body["name_format"] == "{first} {last}"
    picture = body["picture"]["data"]
    assert picture["url"].startswith(f"{BASE}/avatar/{ALICE_ASID}.svg")
    assert (picture["width"], picture["height"], picture["is_silhouette"]) == (50, 50, False)
    # No middle name, and link needs user_link: both left out without an error.
    assert "middle_name" not in body
    assert "link" not in body


async def test_picture_modifiers_and_subfields(fb: FB) -> None:
    token = await fb.user_token(scopes="user_link")
    answer = await fb.graph("GET", "me", token=token, fields="picture.type(large){url},link")
    body = answer.json()
    assert set(body["picture"]["data"]) == {"url"}
    assert "width=200" in body["picture"]["data"]["url"]
    assert body["link"] == f"https://www.facebook.com/app_scoped_user_id/{ALICE_ASID}/"


async def test_me_picture_edge_redirects_or_answers_json(fb: FB) -> None:
    token = await fb.user_token()
    redirect = await fb.graph("GET", "me/picture", token=token, type="normal")
    assert redirect.status_code == 302
    image = await fb.client.get(redirect.headers["location"])
    assert image.headers["content-type"].startswith("image/svg+xml")
    data = await fb.graph("GET", "me/picture", token=token, redirect="0", width="320")
    assert data.json()["data"]["width"] == 320
    page = await fb.graph("GET", "me/picture", redirect="false")
    assert "/avatar/" in page.json()["data"]["url"]


async def test_profile_gated_fields_are_2018247(fb: FB) -> None:
    # Departure 2: what fbmessenger's get_user_data asks by default.
    answer = await fb.graph(
        "GET", ALICE_PSID, fields="first_name,last_name,profile_pic,locale,timezone,gender"
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 2018247)
    assert error["message"] == "(#100) Insufficient permission to access user profile."
    open_fields = await fb.graph("GET", ALICE_PSID, fields="first_name,profile_pic")
    assert open_fields.json()["first_name"] == "Alice"


async def test_profile_gated_fields_answered_with_the_feature() -> None:
    app = create_app(make_config(profile_extended_access=True))
    params = {
        "access_token": PAGE_TOKEN,
        "appsecret_proof": proof(PAGE_TOKEN),
        "fields": "locale,timezone,gender",
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        answer = await c.get(f"/v25.0/{ALICE_PSID}", params=params)
    assert answer.json() == {"locale": "en_US", "timezone": 2, "gender": "female", "id": ALICE_PSID}

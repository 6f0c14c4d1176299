"""The Messenger Profile API (fakebook.graph.profile, profile_rules, messenger_profile)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fakebook import create_app
from tests.fakebook.fbtesting import (
    ALICE_PSID,
    BASE,
    FB,
    PAGE_TOKEN,
    Receiver,
    make_config,
    proof,
)

AUTH = {"access_token": PAGE_TOKEN, "appsecret_proof": proof(PAGE_TOKEN)}
ALL_FIELDS = (
    "get_started,greeting,ice_breakers,persistent_menu,whitelisted_domains,account_linking_url"
)
GET_STARTED = {"payload": "GET_STARTED"}


def menu(*items: dict[str, Any], disabled: bool = False, locale: str = "default") -> dict[str, Any]:
    return {"locale": locale, "composer_input_disabled": disabled, "call_to_actions": list(items)}


def postback(title: str = "Help", payload: str = "HELP") -> dict[str, Any]:
    return {"type": "postback", "title": title, "payload": payload}


async def post(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/v25.0/me/messenger_profile", params=AUTH, json=body)


async def get(client: httpx.AsyncClient, fields: str = ALL_FIELDS) -> httpx.Response:
    return await client.get("/v25.0/me/messenger_profile", params={**AUTH, "fields": fields})


async def delete(client: httpx.AsyncClient, fields: list[str]) -> httpx.Response:
    return await client.request(
        "DELETE", "/v25.0/me/messenger_profile", params=AUTH, json={"fields": fields}
    )


def error(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 400, answer.text
    found: dict[str, Any] = answer.json()["error"]
    assert found["type"] == "OAuthException"
    assert "fbtrace_id" in found
    return found


async def test_empty_profile_reads_as_no_data(client: httpx.AsyncClient) -> None:
    answer = await get(client)
    assert answer.status_code == 200
    assert answer.json() == {"data": []}


async def test_set_get_and_delete(client: httpx.AsyncClient) -> None:
    profile = {
        "get_started": GET_STARTED,
        "greeting": [{"locale": "default", "text": "Hi {{user_first_name}}!"}],
        "persistent_menu": [menu(postback())],
        "whitelisted_domains": ["https://bot.example.com"],
        "account_linking_url": "https://bot.example.com/link/start",
        "ice_breakers": [
            {"locale": "default", "call_to_actions": [{"question": "How?", "payload": "HOW"}]}
        ],
    }
    answer = await post(client, profile)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"result": "success"}
    assert (await get(client)).json() == {"data": [profile]}
    only = await get(client, "greeting,get_started")
    assert only.json() == {"data": [{"get_started": GET_STARTED, "greeting": profile["greeting"]}]}

    assert (await delete(client, ["persistent_menu", "greeting"])).json() == {"result": "success"}
    remaining = (await get(client)).json()["data"][0]
    assert set(remaining) == {
        "get_started",
        "whitelisted_domains",
        "account_linking_url",
        "ice_breakers",
    }
    assert (await get(client, "greeting")).json() == {"data": []}


async def test_menu_defaults_composer_input_to_enabled(client: httpx.AsyncClient) -> None:
    item = postback()
    answer = await post(
        client,
        {"get_started": GET_STARTED, "persistent_menu": [{"locale": "default",
                                                           "call_to_actions": [item]}]},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    stored = (await get(client, "persistent_menu")).json()["data"][0]["persistent_menu"]
    assert stored == [menu(item)]


async def test_form_bodies_carry_json_strings(client: httpx.AsyncClient) -> None:
    form = {"get_started": json.dumps(GET_STARTED), "account_linking_url": "https://a.example/l"}
    answer = await client.post("/v25.0/me/messenger_profile", params=AUTH, data=form)
    assert answer.status_code == 200, answer.text
    data = (await get(client)).json()["data"][0]
    assert data == {"get_started": GET_STARTED, "account_linking_url": "https://a.example/l"}
    bad = await client.post(
        "/v25.0/me/messenger_profile", params=AUTH, data={"greeting": "not json"}
    )
    assert "greeting must be valid JSON" in error(bad)["message"]


async def test_a_page_token_is_required(fb: FB, client: httpx.AsyncClient) -> None:
    answer = await client.get("/v25.0/me/messenger_profile", params={"fields": "greeting"})
    assert error(answer)["code"] == 104
    user_token = await fb.user_token()
    answer = await fb.graph("GET", "me/messenger_profile", token=user_token, fields="greeting")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == 230


async def test_get_needs_known_fields(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v25.0/me/messenger_profile", params=AUTH)
    assert "fields is required" in error(missing)["message"]
    unknown = await get(client, "greeting,home_url")
    assert "home_url" in error(unknown)["message"]


async def test_post_needs_a_property_and_refuses_deprecated_ones(
    client: httpx.AsyncClient,
) -> None:
    nothing = error(await post(client, {"greetings": []}))
    assert nothing["code"] == 100
    assert nothing["message"].startswith("(#100) Requires one of the params: get_started")
    home = error(await post(client, {"home_url": {"url": "https://x.example"}}))
    assert "home_url is deprecated" in home["message"]


def long(n: int) -> str:
    return "x" * n


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"greeting": [{"locale": "default", "text": long(161)}]},
            "Length of param greeting[0][text] must be less than or equal to 160 (it is 161)",
        ),
        (
            {"greeting": [{"locale": "fr_FR", "text": "Salut"}]},
            "param greeting must include an entry for the default locale",
        ),
        (
            {"greeting": [{"locale": "default", "text": "a"}, {"locale": "default", "text": "b"}]},
            "locale 'default' twice",
        ),
        (
            {"greeting": [{"locale": "klingon", "text": "a"}]},
            "param greeting[0][locale] 'klingon' is not a locale",
        ),
        (
            {"get_started": {"payload": long(1001)}},
            "Length of param get_started[payload] must be less than or equal to 1000",
        ),
        ({"get_started": {"payload": ""}}, "param get_started[payload] must be a non-empty"),
        (
            {"get_started": GET_STARTED, "persistent_menu": [menu(postback(long(31)))]},
            "persistent_menu[0][call_to_actions][0][title] must be less than or equal to 30",
        ),
        (
            {"get_started": GET_STARTED, "persistent_menu": [menu(*[postback()] * 21)]},
            "param persistent_menu[0][call_to_actions] has 21 items; the limit is 20",
        ),
        (
            {
                "get_started": GET_STARTED,
                "persistent_menu": [
                    menu({"type": "nested", "title": "More", "call_to_actions": [postback()]})
                ],
            },
            "nested menus were removed in v8.0",
        ),
        (
            {
                "get_started": GET_STARTED,
                "persistent_menu": [
                    menu({"type": "phone_number", "title": "Call", "payload": "+1"})
                ],
            },
            "[call_to_actions][0][type] must be one of {web_url, postback}",
        ),
        (
            {
                "get_started": GET_STARTED,
                "persistent_menu": [menu(postback(payload=long(1001)))],
            },
            "[call_to_actions][0][payload] must be less than or equal to 1000",
        ),
        (
            {"get_started": GET_STARTED, "persistent_menu": [menu(disabled=True)]},
            "must be non-empty when composer_input_disabled is true",
        ),
        (
            {"get_started": GET_STARTED, "persistent_menu": [menu(postback(), locale="en_US")]},
            "param persistent_menu must include an entry for the default locale",
        ),
        (
            {"whitelisted_domains": [f"https://d{i}.example.com" for i in range(51)]},
            "param whitelisted_domains has 51 items; the limit is 50",
        ),
        (
            {"whitelisted_domains": ["https://ok.example.com", "https://x.example.com/path"]},
            "param whitelisted_domains[1] must be a domain like https://example.com",
        ),
        (
            {"ice_breakers": [{"question": f"Q{i}", "payload": "P"} for i in range(5)]},
            "param ice_breakers has 5 items; the limit is 4",
        ),
        (
            {
                "ice_breakers": [
                    {
                        "locale": "default",
                        "call_to_actions": [
                            {"question": f"Q{i}", "payload": "P"} for i in range(5)
                        ],
                    }
                ]
            },
            "param ice_breakers[0][call_to_actions] has 5 items; the limit is 4",
        ),
        (
            {
                "ice_breakers": [
                    {"question": "Q", "payload": "P"},
                    {"locale": "default", "call_to_actions": [{"question": "Q", "payload": "P"}]},
                ]
            },
            "mixes the per-locale format",
        ),
        (
            {
                "ice_breakers": [
                    {"locale": "en_US", "call_to_actions": [{"question": "Q", "payload": "P"}]}
                ]
            },
            "param ice_breakers must include an entry for the default locale",
        ),
    ],
)
async def test_limits_are_enforced_with_the_field_and_the_limit(
    client: httpx.AsyncClient, body: dict[str, Any], expected: str
) -> None:
    found = error(await post(client, body))
    assert found["code"] == 100
    assert found["message"].startswith("(#100) ")
    assert expected in found["message"]
    # Nothing of a refused POST is stored, not even its valid parts.
    assert (await get(client)).json() == {"data": []}


async def test_legacy_ice_breakers_are_accepted(client: httpx.AsyncClient) -> None:
    legacy = [{"question": "What's new?", "payload": "NEW"}]
    assert (await post(client, {"ice_breakers": legacy})).status_code == 200
    assert (await get(client, "ice_breakers")).json() == {"data": [{"ice_breakers": legacy}]}


async def test_menu_needs_get_started_first(client: httpx.AsyncClient) -> None:
    refused = error(await post(client, {"persistent_menu": [menu(postback())]}))
    assert "You must set a Get Started button" in refused["message"]
    assert (await post(client, {"get_started": GET_STARTED})).status_code == 200
    assert (await post(client, {"persistent_menu": [menu(postback())]})).status_code == 200


async def test_get_started_cannot_be_deleted_under_a_menu(client: httpx.AsyncClient) -> None:
    body = {"get_started": GET_STARTED, "persistent_menu": [menu(postback())]}
    assert (await post(client, body)).status_code == 200
    refused = error(await delete(client, ["get_started"]))
    assert "delete persistent_menu first" in refused["message"]
    assert (await delete(client, ["persistent_menu"])).status_code == 200
    assert (await delete(client, ["get_started"])).status_code == 200
    assert (await get(client)).json() == {"data": []}


async def test_delete_checks_its_fields(client: httpx.AsyncClient) -> None:
    assert "non-empty array" in error(await delete(client, []))["message"]
    assert "unknown field(s) colour" in error(await delete(client, ["colour"]))["message"]
    # A field that was never set deletes fine, as on Facebook.
    assert (await delete(client, ["greeting"])).status_code == 200


@pytest.mark.parametrize(
    "url", ["http://bot.example.com", "https://127.0.0.1:8000", "https://localhost", "https://bot"]
)
async def test_strict_mode_takes_only_https_domains(receiver: Receiver, url: str) -> None:
    config = make_config(profile_allow_local_urls=False)
    app = create_app(config, webhook_transport=httpx.MockTransport(receiver.handle))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        domains = error(await post(http, {"whitelisted_domains": [url]}))
        assert "whitelisted_domains[0]" in domains["message"]
        linking = error(await post(http, {"account_linking_url": f"{url}/link"}))
        assert "account_linking_url" in linking["message"]
        good = await post(http, {"whitelisted_domains": ["https://bot.example.com"]})
        assert good.status_code == 200


async def test_demo_mode_lets_a_local_bot_list_itself(client: httpx.AsyncClient) -> None:
    body = {
        "whitelisted_domains": ["http://127.0.0.1:8000"],
        "account_linking_url": "http://127.0.0.1:8000/link/start",
    }
    assert (await post(client, body)).status_code == 200
    refused = error(await post(client, {"whitelisted_domains": ["ftp://127.0.0.1"]}))
    assert "must be an https URL" in refused["message"]


async def test_reset_clears_the_profile(client: httpx.AsyncClient) -> None:
    assert (await post(client, {"get_started": GET_STARTED})).status_code == 200
    assert (await client.post("/_fakebook/reset")).status_code == 200
    assert (await get(client)).json() == {"data": []}


async def test_chat_state_shows_the_profile_for_the_person(client: httpx.AsyncClient) -> None:
    body = {
        "get_started": GET_STARTED,
        "greeting": [
            {"locale": "default", "text": "Hi {{user_first_name}} ({{user_full_name}})!"},
            {"locale": "fr_FR", "text": "Salut {{user_first_name}}"},
        ],
        "persistent_menu": [menu(postback("My likes", "LIKES"), disabled=True)],
    }
    assert (await post(client, body)).status_code == 200
    state = (await client.get(f"/_fakebook/chat/{ALICE_PSID}")).json()
    person = state["person"]
    shown = state["profile"]
    assert shown["greeting"] == f"Hi {person['first_name']} ({person['name']})!"
    assert shown["get_started"] == GET_STARTED
    assert shown["ice_breakers"] == []
    assert shown["persistent_menu"] == {
        "composer_input_disabled": True,
        "call_to_actions": [postback("My likes", "LIKES")],
    }
    breakers = [{"locale": "default", "call_to_actions": [{"question": "Hi?", "payload": "HI"}]}]
    assert (await post(client, {"ice_breakers": breakers})).status_code == 200
    state = (await client.get(f"/_fakebook/chat/{ALICE_PSID}")).json()
    assert state["profile"]["ice_breakers"] == [{"question": "Hi?", "payload": "HI"}]

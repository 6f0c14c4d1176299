"""fbmessenger 6.0.0 and pymessenger 0.0.7 against fakebook: text, a button template, quick
replies, sender actions and the Messenger Profile (and fbmessenger's user data, page
subscription and account linking), each checked on both sides: the client's answer and what
fakebook recorded.

Client bugs worked around here, none of them bent into fakebook:
* both hard-code `https://graph.facebook.com`; the tests set their `graph_url` attribute to
  fakebook, keeping each client's own default (expired) version, which fakebook serves at
  the oldest available one, as Facebook does;
* fbmessenger's templates use `collections.Iterable`, gone since Python 3.10 (Python 2 era
  code); the test puts the alias back for the duration of the test;
* fbmessenger's `subscribe_app_to_page` sends no `subscribed_fields`, which the Graph API
  requires since v3.2; the test shows the refusal, then subscribes through the client's session;
* fbmessenger's `link_account` POSTs the PSID look-up that Facebook documents as a GET; the test
  shows the refusal, then makes the GET through the client's session;
* pymessenger's `send_text_message` and friends send no `messaging_type`, required since 2018:
  the test shows the refusal and sends through `send_raw` with it; pymessenger has no Messenger
  Profile call, so the test posts one with the client's own `auth_args`.
"""

from __future__ import annotations

import collections
import collections.abc
from typing import Any

import pytest
import requests
from fbmessenger import MessengerClient
from fbmessenger.elements import Button, Text
from fbmessenger.quick_replies import QuickReplies, QuickReply
from fbmessenger.sender_actions import SenderAction
from fbmessenger.templates import ButtonTemplate
from fbmessenger.thread_settings import (
    GetStartedButton,
    GreetingText,
    MessengerProfile,
    PersistentMenu,
    PersistentMenuItem,
)
from pymessenger.bot import Bot

from tests.conformance.conftest import ALICE_PSID, APP_SECRET, PAGE_TOKEN, Live

BUTTONS = [
    {"type": "web_url", "url": "https://bot.example.com/login", "title": "Log in",
     "webview_height_ratio": "tall"},
    {"type": "postback", "title": "Later", "payload": "LATER"},
]  # fmt: skip


@pytest.fixture
def fbm(fakebook: Live, monkeypatch: pytest.MonkeyPatch) -> MessengerClient:
    monkeypatch.setattr(collections, "Iterable", collections.abc.Iterable, raising=False)
    client = MessengerClient(PAGE_TOKEN, app_secret=APP_SECRET)
    client.graph_url = f"{fakebook.url}/v{client.api_version}"  # v2.12 by default
    fakebook.person_says()
    return client


@pytest.fixture
def pym(fakebook: Live) -> Bot:
    bot = Bot(PAGE_TOKEN, app_secret=APP_SECRET)
    bot.graph_url = f"{fakebook.url}/v{bot.api_version}"  # v2.6 by default
    fakebook.person_says()
    return bot


def _last(fakebook: Live) -> dict[str, Any]:
    return fakebook.sent()[-1]


def test_fbmessenger_text(fbm: MessengerClient, fakebook: Live) -> None:
    answer = fbm.send(Text("Hello from fbmessenger").to_dict(), ALICE_PSID)
    assert answer["recipient_id"] == ALICE_PSID
    assert answer["message_id"] == _last(fakebook)["message_id"]
    assert _last(fakebook)["message"] == {"text": "Hello from fbmessenger"}


def test_fbmessenger_button_template(fbm: MessengerClient, fakebook: Live) -> None:
    template = ButtonTemplate(
        "Connect your account",
        buttons=[
            Button("web_url", title="Log in", url="https://bot.example.com/login",
                   webview_height_ratio="tall"),
            Button("postback", title="Later", payload="LATER"),
        ],
    )  # fmt: skip
    answer = fbm.send(template.to_dict(), ALICE_PSID)
    assert "message_id" in answer, answer
    payload = _last(fakebook)["message"]["attachment"]["payload"]
    assert payload["template_type"] == "button"
    assert [button["type"] for button in payload["buttons"]] == ["web_url", "postback"]


def test_fbmessenger_quick_replies(fbm: MessengerClient, fakebook: Live) -> None:
    replies = QuickReplies([QuickReply("Red", "PICK_RED"), QuickReply(content_type="user_email")])
    answer = fbm.send(Text("Pick one", quick_replies=replies).to_dict(), ALICE_PSID)
    assert "message_id" in answer, answer
    sent = _last(fakebook)["message"]["quick_replies"]
    assert sent == [
        {"content_type": "text", "title": "Red", "payload": "PICK_RED"},
        {"content_type": "user_email"},
    ]


def test_fbmessenger_sender_actions(fbm: MessengerClient, fakebook: Live) -> None:
    for action in ("mark_seen", "typing_on", "typing_off"):
        answer = fbm.send_action(SenderAction(action).to_dict(), ALICE_PSID)
        assert answer == {"recipient_id": ALICE_PSID}
    assert [call["sender_action"] for call in fakebook.sent()] == [
        "mark_seen", "typing_on", "typing_off",
    ]  # fmt: skip


def test_fbmessenger_messenger_profile(fbm: MessengerClient, fakebook: Live) -> None:
    profile = MessengerProfile(
        greetings=[GreetingText("Hi {{user_first_name}}!")],
        get_started=GetStartedButton("GET_STARTED"),
        persistent_menus=[PersistentMenu([PersistentMenuItem("postback", "Help", payload="HELP")])],
    )
    assert fbm.set_messenger_profile(profile.to_dict()) == {"result": "success"}
    assert fbm.update_whitelisted_domains(["https://bot.example.com"]) == {"result": "success"}
    stored = fakebook.profile("get_started,greeting,persistent_menu,whitelisted_domains")
    assert stored["get_started"] == {"payload": "GET_STARTED"}
    assert stored["persistent_menu"][0]["call_to_actions"][0]["payload"] == "HELP"
    assert stored["whitelisted_domains"] == ["https://bot.example.com"]
    # Facebook's order rule: the menu goes before the Get Started button it depends on.
    assert "error" in fbm.delete_get_started()
    assert fbm.delete_persistent_menu() == {"result": "success"}
    assert fbm.delete_get_started() == {"result": "success"}
    assert fakebook.profile("get_started,persistent_menu") == {}


def test_fbmessenger_user_data_and_subscription(fbm: MessengerClient, fakebook: Live) -> None:
    # Its default fields include locale, timezone and gender: refused as on Facebook.
    refused = fbm.get_user_data(ALICE_PSID)
    assert refused["error"]["error_subcode"] == 2018247
    assert fbm.get_user_data(ALICE_PSID, fields="first_name,last_name")["first_name"] == "Alice"
    assert fbm.subscribe_app_to_page()["error"]["code"] == 100
    answer = fbm.session.post(
        f"{fbm.graph_url}/me/subscribed_apps",
        params={**fbm.auth_args, "subscribed_fields": "messages,messaging_postbacks"},
        timeout=10,
    )
    assert answer.json() == {"success": True}
    assert fakebook.control.get("/_fakebook/subscription").json()["subscribed"] is True


def _raw(pym: Bot, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = pym.send_raw({"recipient": {"id": ALICE_PSID}, **body})
    return result


def test_pymessenger_text(pym: Bot, fakebook: Live) -> None:
    refused = pym.send_text_message(ALICE_PSID, "no messaging_type")
    assert "messaging_type" in refused["error"]["message"]
    answer = _raw(pym, {"messaging_type": "RESPONSE", "message": {"text": "Hello from pym"}})
    assert answer["message_id"] == _last(fakebook)["message_id"]
    assert _last(fakebook)["message"] == {"text": "Hello from pym"}


def test_pymessenger_button_template(pym: Bot, fakebook: Live) -> None:
    payload = {"template_type": "button", "text": "Connect your account", "buttons": BUTTONS}
    template = {"attachment": {"type": "template", "payload": payload}}
    answer = _raw(pym, {"messaging_type": "RESPONSE", "message": template})
    assert "message_id" in answer, answer
    assert _last(fakebook)["message"]["attachment"]["payload"]["buttons"] == BUTTONS


def test_pymessenger_quick_replies(pym: Bot, fakebook: Live) -> None:
    message = {"text": "Pick one", "quick_replies": [
        {"content_type": "text", "title": "Red", "payload": "PICK_RED"},
        {"content_type": "user_phone_number"}]}  # fmt: skip
    answer = _raw(pym, {"messaging_type": "RESPONSE", "message": message})
    assert "message_id" in answer, answer
    assert _last(fakebook)["message"]["quick_replies"][1] == {"content_type": "user_phone_number"}


def test_pymessenger_sender_actions(pym: Bot, fakebook: Live) -> None:
    assert pym.send_action(ALICE_PSID, "typing_on") == {"recipient_id": ALICE_PSID}
    both = _raw(pym, {"sender_action": "typing_off", "message": {"text": "x"}})
    assert both["error"]["code"] == 100  # an action goes alone, as on Facebook
    assert [call["sender_action"] for call in fakebook.sent()] == ["typing_on"]


def test_pymessenger_messenger_profile(pym: Bot, fakebook: Live) -> None:
    body = {"get_started": {"payload": "GET_STARTED"},
            "greeting": [{"locale": "default", "text": "Hello {{user_full_name}}"}]}  # fmt: skip
    answer = requests.post(
        f"{pym.graph_url}/me/messenger_profile", params=pym.auth_args, json=body, timeout=10
    )
    assert answer.json() == {"result": "success"}
    assert fakebook.profile("greeting")["greeting"][0]["text"] == "Hello {{user_full_name}}"
    shown = fakebook.control.get(f"/_fakebook/chat/{ALICE_PSID}").json()["profile"]
    assert shown["greeting"] == "Hello Alice Example"


def test_fbmessenger_account_linking(fbm: MessengerClient, fakebook: Live) -> None:
    minted = fakebook.control.post(f"/_fakebook/linking/{ALICE_PSID}/token").json()
    token = minted["account_linking_token"]
    # Its link_account POSTs to /me, where Facebook documents a GET: refused as an
    # unsupported POST; the same call as a GET through the client's session answers the PSID.
    refused = fbm.link_account(token)
    assert refused["error"]["error_subcode"] == 33
    params = {**fbm.auth_args, "fields": "recipient", "account_linking_token": token}
    found = fbm.session.get(f"{fbm.graph_url}/me", params=params, timeout=10).json()
    assert found["recipient"] == ALICE_PSID
    assert fbm.unlink_account(ALICE_PSID) == {"result": "unlink account success"}

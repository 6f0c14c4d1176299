import copy
from typing import Any

import pytest

from botperms.messenger.events import (
    InvalidPayload,
    MessagingEvent,
    WebhookPayload,
    parse_payload,
)

PAGE = "111"
PSID = "222"


def event(**body: Any) -> dict[str, Any]:
    return {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1458692752478, **body}


def delivery(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [{"id": PAGE, "time": 1458692752478, "messaging": list(events)}],
    }


def one(body: dict[str, Any]) -> MessagingEvent:
    payload = parse_payload(delivery(body))
    return payload.entry[0].messaging[0]


def test_text_message_with_quick_reply() -> None:
    ev = one(event(message={"mid": "m_1", "text": "Red", "quick_reply": {"payload": "PICK_RED"}}))
    assert ev.kind == "message"
    assert ev.message is not None
    assert ev.message.text == "Red"
    assert ev.message.quick_reply is not None
    assert ev.message.quick_reply.payload == "PICK_RED"
    assert ev.psid == PSID
    assert ev.page_id == PAGE
    assert ev.key() == "mid:m_1"


def test_attachments_sticker_and_reply_to() -> None:
    ev = one(
        event(
            message={
                "mid": "m_2",
                "attachments": [
                    {
                        "type": "image",
                        "payload": {"url": "https://x/s.png", "sticker_id": 369239263222822},
                    },
                    {"type": "sticker", "payload": {"sticker_id": 369239263222822}},
                    {"type": "fallback"},
                ],
                "reply_to": {"mid": "m_0"},
            }
        )
    )
    assert ev.message is not None
    assert [a.type for a in ev.message.attachments] == ["image", "sticker", "fallback"]
    assert ev.message.attachments[2].payload is None
    assert ev.message.sticker_id == "369239263222822"
    assert ev.message.reply_to == {"mid": "m_0"}
    assert ev.message.text is None


def test_echo_swaps_person_and_page() -> None:
    ev = one(
        {
            "sender": {"id": PAGE},
            "recipient": {"id": PSID},
            "timestamp": 1,
            "message": {
                "is_echo": True,
                "app_id": 1517776481860111,
                "metadata": "DEV",
                "mid": "mid.1457764197618:41d102a3e1ae206a38",
                "text": "hello, world!",
            },
        }
    )
    assert ev.kind == "echo"
    assert ev.psid == PSID
    assert ev.page_id == PAGE
    assert ev.message is not None
    assert ev.message.app_id == 1517776481860111
    assert ev.message.metadata == "DEV"
    assert ev.key() == "mid:mid.1457764197618:41d102a3e1ae206a38"


def test_postback_with_referral() -> None:
    ev = one(
        event(
            postback={
                "mid": "m_pb",
                "title": "Get Started",
                "payload": "GET_STARTED",
                "referral": {"ref": "signup-42", "source": "SHORTLINK", "type": "OPEN_THREAD"},
            }
        )
    )
    assert ev.kind == "postback"
    assert ev.postback is not None
    assert ev.postback.payload == "GET_STARTED"
    assert ev.postback.referral is not None
    assert ev.postback.referral.ref == "signup-42"
    assert ev.key() == "mid:m_pb"


def test_postback_without_mid_hashes() -> None:
    ev = one(event(postback={"title": "Menu", "payload": "MENU"}))
    assert ev.key().startswith("sha256:")


def test_account_linking_linked_and_unlinked() -> None:
    linked = one(event(account_linking={"status": "linked", "authorization_code": "PASS"}))
    assert linked.kind == "account_linking"
    assert linked.account_linking is not None
    assert linked.account_linking.authorization_code == "PASS"
    unlinked = one(event(account_linking={"status": "unlinked"}))
    assert unlinked.account_linking is not None
    assert unlinked.account_linking.status == "unlinked"
    assert unlinked.account_linking.authorization_code is None


def test_referral_with_ad_fields() -> None:
    ev = one(
        event(
            referral={
                "ref": "r",
                "source": "ADS",
                "type": "OPEN_THREAD",
                "ad_id": "9",
                "ads_context_data": {"ad_title": "t"},
            }
        )
    )
    assert ev.kind == "referral"
    assert ev.referral is not None
    assert ev.referral.source == "ADS"
    assert ev.referral.model_extra == {"ad_id": "9", "ads_context_data": {"ad_title": "t"}}


def test_delivery_read_optin_reaction() -> None:
    assert one(event(delivery={"mids": ["mid.1"], "watermark": 1458668856253})).kind == "delivery"
    no_mids = one(event(delivery={"watermark": 5}))
    assert no_mids.delivery is not None
    assert no_mids.delivery.mids == []
    assert one(event(read={"watermark": 1458668856253})).kind == "read"
    optin = one(
        event(
            optin={
                "ref": "P",
                "user_ref": "U",
                "type": "notification_messages",
                "notification_messages_token": "NT",
            }
        )
    )
    assert optin.kind == "optin"
    assert optin.optin is not None
    assert optin.optin.notification_messages_token == "NT"
    reaction = one(
        event(reaction={"mid": "m_1", "action": "react", "reaction": "love", "emoji": "❤"})
    )
    assert reaction.kind == "reaction"
    assert reaction.key().startswith("sha256:")


def test_plugin_user_ref_sender() -> None:
    ev = one(
        {
            "sender": {"user_ref": "UREF"},
            "recipient": {"id": PAGE},
            "timestamp": 1,
            "optin": {"ref": "x", "user_ref": "UREF"},
        }
    )
    assert ev.sender.user_ref == "UREF"
    assert ev.psid is None
    assert ev.page_id == PAGE


def test_unknown_kind_and_unknown_fields_are_kept() -> None:
    ev = one(event(brand_new={"mid": "m_1", "text": "new", "num_edit": 1}, other=True))
    assert ev.kind == "unknown"
    assert ev.model_extra == {
        "brand_new": {"mid": "m_1", "text": "new", "num_edit": 1},
        "other": True,
    }
    edit = one(event(message_edit={"mid": "m_1", "text": "new", "num_edit": 1}))
    assert edit.kind == "message_edit"
    assert ev.key().startswith("sha256:")
    extra = one(event(message={"mid": "m_9", "text": "x", "nlp": {"entities": {}}}))
    assert extra.message is not None
    assert extra.message.model_extra == {"nlp": {"entities": {}}}


def test_numeric_ids_are_accepted_as_strings() -> None:
    payload = parse_payload(
        {
            "object": "page",
            "entry": [
                {
                    "id": 111,
                    "time": 1,
                    "messaging": [
                        {
                            "sender": {"id": 222},
                            "recipient": {"id": 111},
                            "timestamp": 1,
                            "read": {"watermark": 1},
                        }
                    ],
                }
            ],
        }
    )
    assert payload.entry[0].id == "111"
    assert payload.entry[0].messaging[0].psid == "222"


def test_hash_key_is_stable_and_content_based() -> None:
    body = event(read={"watermark": 10})
    assert one(body).key() == one(copy.deepcopy(body)).key()
    reordered = {
        "read": {"watermark": 10},
        "timestamp": body["timestamp"],
        "recipient": body["recipient"],
        "sender": body["sender"],
    }
    assert one(reordered).key() == one(body).key()
    assert one(event(read={"watermark": 11})).key() != one(body).key()
    assert len(one(body).key()) == len("sha256:") + 64


def test_batched_entries_and_events_sorted_by_time() -> None:
    data = {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": 3,
                "messaging": [{**event(message={"mid": "b", "text": "2"}), "timestamp": 30}],
            },
            {
                "id": "333",
                "time": 1,
                "messaging": [
                    {**event(message={"mid": "a", "text": "1"}), "timestamp": 10},
                    {**event(read={"watermark": 5}), "timestamp": 20},
                ],
            },
            {"id": PAGE, "time": 4, "standby": [{"x": 1}]},
        ],
    }
    payload = parse_payload(data)
    assert isinstance(payload, WebhookPayload)
    assert len(payload.entry) == 3
    assert payload.entry[2].messaging == []
    # Standby events have the same shapes; one without any known field is of kind unknown.
    assert [ev.kind for ev in payload.entry[2].standby] == ["unknown"]
    ordered = [(entry.id, ev.kind, ev.timestamp) for entry, ev in payload.events()]
    assert ordered == [("333", "message", 10), ("333", "read", 20), (PAGE, "message", 30)]


def test_models_are_frozen() -> None:
    ev = one(event(read={"watermark": 1}))
    with pytest.raises(Exception, match="frozen"):
        ev.timestamp = 5  # type: ignore[misc]


def test_as_dict_round_trips() -> None:
    body = event(message={"mid": "m", "text": "t", "nlp": {}})
    assert one(body).as_dict() == body


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([], "must be a JSON object, not list"),
        ("x", "must be a JSON object"),
        ({"object": "instagram", "entry": []}, "'instagram'; expected 'page'"),
        ({"entry": []}, "object is None"),
        ({"object": "page", "entry": {}}, "'entry' must be a list"),
        ({"object": "page"}, "'entry' must be a list"),
        ({"object": "page", "entry": [1]}, r"entry\[0\] must be an object"),
        (
            {"object": "page", "entry": [{"id": "1", "time": 1, "messaging": {}}]},
            r"entry\[0\].messaging must be a list",
        ),
        (
            {"object": "page", "entry": [{"id": "1", "time": 1, "messaging": ["x"]}]},
            r"messaging\[0\] must be an object",
        ),
        (
            {"field": "messaging_postbacks", "value": {"timestamp": "1"}},
            "App Dashboard test payload .*'messaging_postbacks'",
        ),
    ],
)
def test_invalid_envelopes(data: Any, match: str) -> None:
    with pytest.raises(InvalidPayload, match=match):
        parse_payload(data)


@pytest.mark.parametrize("missing", ["sender", "recipient", "timestamp"])
def test_an_event_without_sender_recipient_or_timestamp_is_still_an_event(missing: str) -> None:
    # policy_enforcement and app_roles come without a sender (contract §1.4).
    body = event(read={"watermark": 1})
    del body[missing]
    assert one(body).kind == "read"


def test_malformed_known_event_is_invalid_payload() -> None:
    with pytest.raises(InvalidPayload, match="timestamp"):
        parse_payload(delivery({**event(), "timestamp": "soon"}))
    # A message without a mid is odd but Facebook's to send: it is kept.
    assert one(event(message={"text": "no mid"})).kind == "message"


def test_invalid_payload_is_value_error() -> None:
    assert issubclass(InvalidPayload, ValueError)

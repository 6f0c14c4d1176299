"""Send API message shapes and limits (fakebook.graph.message_rules)."""

from __future__ import annotations

from typing import Any

import pytest

from fakebook.errors import GraphError
from fakebook.graph.message_rules import check_button, check_message


def buttons_message(buttons: list[dict[str, Any]], text: str = "Connect") -> dict[str, Any]:
    payload = {"template_type": "button", "text": text, "buttons": buttons}
    return {"attachment": {"type": "template", "payload": payload}}


WEB = {"type": "web_url", "url": "https://bot.test/login", "title": "Log in"}
POSTBACK = {"type": "postback", "title": "Later", "payload": "LATER"}


def test_valid_messages_pass() -> None:
    check_message({"text": "hi", "metadata": "m"})
    check_message(
        {
            "text": "Pick:",
            "quick_replies": [
                {"content_type": "text", "title": "Red", "payload": "RED"},
                {"content_type": "user_email"},
            ],
        }
    )
    check_message(
        buttons_message(
            [
                {"type": "account_link", "url": "https://bot.test/link"},
                {
                    **WEB,
                    "webview_height_ratio": "tall",
                    "messenger_extensions": True,
                    "fallback_url": "https://bot.test/nojs",
                    "webview_share_button": "hide",
                },
                POSTBACK,
            ]
        )
    )
    element = {
        "title": "Card",
        "subtitle": "sub",
        "image_url": "https://x/y.png",
        "default_action": {"type": "web_url", "url": "https://x"},
        "buttons": [POSTBACK],
    }
    check_message(
        {
            "attachment": {
                "type": "template",
                "payload": {"template_type": "generic", "elements": [element]},
            }
        }
    )
    check_message({"attachment": {"type": "image", "payload": {"url": "https://x/y.png"}}})


@pytest.mark.parametrize(
    ("message", "needle"),
    [
        ({"text": "x" * 2001}, "message[text]"),
        ({}, "exactly one of text or attachment"),
        ({"text": "a", "attachment": {}}, "exactly one"),
        ({"text": "a", "colour": "red"}, "colour"),
        ({"text": "a", "quick_replies": []}, "1 to 13"),
        ({"text": "a", "quick_replies": [{"title": "t", "payload": "p"}] * 14}, "1 to 13"),
        (
            {"text": "a", "quick_replies": [{"title": "x" * 21, "payload": "p"}]},
            "message[quick_replies][0][title]",
        ),
        ({"text": "a", "quick_replies": [{"title": "t", "payload": "p" * 1001}]}, "1000"),
        ({"text": "a", "quick_replies": [{"content_type": "location"}]}, "content_type"),
        (buttons_message([POSTBACK], text="x" * 641), "640"),
        (buttons_message([]), "1 to 3 buttons"),
        (buttons_message([POSTBACK] * 4), "1 to 3 buttons"),
        (buttons_message([{**WEB, "title": "x" * 21}]), "[buttons][0][title]"),
        (buttons_message([{**WEB, "url": "ftp://x"}]), "http or https"),
        (buttons_message([{"type": "account_link", "url": "http://bot.test"}]), "https URL"),
        (buttons_message([{"type": "account_link", "url": "https://b", "title": "t"}]), "title"),
        (buttons_message([{**POSTBACK, "payload": "p" * 1001}]), "payload"),
        (buttons_message([{**WEB, "fallback_url": "https://x"}]), "messenger_extensions"),
        (buttons_message([{**WEB, "webview_height_ratio": "huge"}]), "webview_height_ratio"),
        (buttons_message([{"type": "teleport"}]), "[type]"),
        (
            {
                "attachment": {
                    "type": "template",
                    "payload": {"template_type": "generic", "elements": [{"title": "t"}] * 11},
                }
            },
            "1 to 10 elements",
        ),
        (
            {
                "attachment": {
                    "type": "template",
                    "payload": {"template_type": "generic", "elements": [{"title": "t" * 81}]},
                }
            },
            "[title]",
        ),
        (
            {"attachment": {"type": "template", "payload": {"template_type": "receipt"}}},
            "template_type",
        ),
        ({"attachment": {"type": "image", "payload": {"url": "nope"}}}, "url"),
    ],
)
def test_invalid_messages_name_the_field(message: dict[str, Any], needle: str) -> None:
    with pytest.raises(GraphError) as caught:
        check_message(message)
    assert caught.value.code == 100
    assert caught.value.message.startswith("(#100) ")
    assert needle in caught.value.message


def test_phone_number_button() -> None:
    check_button({"type": "phone_number", "title": "Call", "payload": "+15105551234"}, "b")
    with pytest.raises(GraphError):
        check_button({"type": "phone_number", "title": "Call", "payload": "555-1234"}, "b")


def test_limits_are_inclusive() -> None:
    check_message({"text": "x" * 2000})
    check_message(buttons_message([{**POSTBACK, "title": "x" * 20}] * 3, text="y" * 640))

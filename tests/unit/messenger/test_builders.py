import pytest

from botperms.messenger.builders import (
    InvalidMessage,
    MessageTooLarge,
    account_link_button,
    account_unlink_button,
    button_template,
    email_quick_reply,
    generic_element,
    generic_template,
    phone_quick_reply,
    postback_button,
    quick_reply,
    sender_action,
    text_message,
    web_url_button,
    with_quick_replies,
)


def test_text_message_plain() -> None:
    assert text_message("hello") == {"text": "hello"}


def test_text_message_with_quick_replies_and_metadata() -> None:
    replies = [quick_reply("Red", "PICK_RED", "https://x/red.png"), email_quick_reply()]
    assert text_message("Pick:", replies, metadata="dev") == {
        "text": "Pick:",
        "quick_replies": [
            {
                "content_type": "text",
                "title": "Red",
                "payload": "PICK_RED",
                "image_url": "https://x/red.png",
            },
            {"content_type": "user_email"},
        ],
        "metadata": "dev",
    }
    assert phone_quick_reply() == {"content_type": "user_phone_number"}


def test_text_limits() -> None:
    assert text_message("x" * 2000)["text"] == "x" * 2000
    with pytest.raises(MessageTooLarge, match="2001 characters; Messenger allows at most 2000"):
        text_message("x" * 2001)
    with pytest.raises(InvalidMessage, match="must not be empty"):
        text_message("  ")
    with pytest.raises(MessageTooLarge, match="metadata"):
        text_message("x", metadata="m" * 1001)


def test_quick_reply_limits() -> None:
    with pytest.raises(MessageTooLarge, match="quick_replies has 14; Messenger allows at most 13"):
        text_message("x", [quick_reply(str(i), "P") for i in range(14)])
    with pytest.raises(MessageTooLarge, match=r"quick reply title .* is 21 characters"):
        quick_reply("x" * 21, "P")
    with pytest.raises(MessageTooLarge, match="quick reply payload"):
        quick_reply("ok", "p" * 1001)
    with pytest.raises(InvalidMessage, match="image_url"):
        quick_reply("ok", "P", "ftp://x/y.png")


def test_button_template_shape() -> None:
    buttons = [
        account_link_button("https://bot.example.com/fb/link"),
        web_url_button(
            "Log in",
            "https://bot.example.com/login",
            height="tall",
            messenger_extensions=True,
            fallback_url="https://bot.example.com/login-nojs",
            hide_share=True,
        ),
        postback_button("Later", "LATER"),
    ]
    assert button_template("Connect your account", buttons) == {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": "Connect your account",
                "buttons": [
                    {"type": "account_link", "url": "https://bot.example.com/fb/link"},
                    {
                        "type": "web_url",
                        "url": "https://bot.example.com/login",
                        "title": "Log in",
                        "webview_height_ratio": "tall",
                        "messenger_extensions": True,
                        "fallback_url": "https://bot.example.com/login-nojs",
                        "webview_share_button": "hide",
                    },
                    {"type": "postback", "title": "Later", "payload": "LATER"},
                ],
            },
        }
    }


def test_button_template_limits() -> None:
    button = postback_button("A", "A")
    with pytest.raises(InvalidMessage, match="at least 1"):
        button_template("text", [])
    with pytest.raises(MessageTooLarge, match="has 4; Messenger allows at most 3"):
        button_template("text", [button] * 4)
    with pytest.raises(MessageTooLarge, match=r"button template text .* at most 640"):
        button_template("t" * 641, [button])


def test_button_title_message_names_field_and_limit() -> None:
    with pytest.raises(InvalidMessage) as caught:
        web_url_button("Log in with Facebook now", "https://bot.example.com/login")
    assert str(caught.value) == (
        "button title 'Log in with Facebook now' is 24 characters; Messenger allows at most 20"
    )


def test_web_url_button_defaults_and_rules() -> None:
    assert web_url_button("Open", "http://127.0.0.1:8000/x") == {
        "type": "web_url",
        "url": "http://127.0.0.1:8000/x",
        "title": "Open",
        "webview_height_ratio": "full",
    }
    with pytest.raises(InvalidMessage, match="fallback_url is only allowed"):
        web_url_button("Open", "https://x.example", fallback_url="https://y.example")
    with pytest.raises(InvalidMessage, match="https URL"):
        web_url_button("Open", "http://x.example", messenger_extensions=True)
    with pytest.raises(InvalidMessage, match="height"):
        web_url_button("Open", "https://x.example", height="huge")  # type: ignore[arg-type]
    with pytest.raises(InvalidMessage, match="http"):
        web_url_button("Open", "javascript:alert(1)")


def test_postback_button_limits() -> None:
    with pytest.raises(MessageTooLarge, match="postback payload"):
        postback_button("ok", "p" * 1001)
    with pytest.raises(InvalidMessage, match="must not be empty"):
        postback_button("", "P")


def test_account_link_buttons() -> None:
    with pytest.raises(InvalidMessage, match="account_link url must be an https URL"):
        account_link_button("http://bot.example.com/fb/link")
    assert account_unlink_button() == {"type": "account_unlink"}


def test_generic_template() -> None:
    element = generic_element("Title", "Sub", "https://x/i.png", [postback_button("Go", "GO")])
    assert generic_template([element]) == {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "generic",
                "elements": [
                    {
                        "title": "Title",
                        "subtitle": "Sub",
                        "image_url": "https://x/i.png",
                        "buttons": [{"type": "postback", "title": "Go", "payload": "GO"}],
                    }
                ],
            },
        }
    }
    assert generic_element("Only") == {"title": "Only"}


def test_generic_limits() -> None:
    with pytest.raises(MessageTooLarge, match="elements has 11; Messenger allows at most 10"):
        generic_template([generic_element("x")] * 11)
    with pytest.raises(InvalidMessage, match="at least 1"):
        generic_template([])
    with pytest.raises(MessageTooLarge, match="element title"):
        generic_element("t" * 81)
    with pytest.raises(MessageTooLarge, match="element subtitle"):
        generic_element("t", "s" * 81)
    with pytest.raises(MessageTooLarge, match="element buttons"):
        generic_element("t", buttons=[postback_button("a", "a")] * 4)


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(MessageTooLarge) as caught:
        text_message("y" * 5000)
    assert len(str(caught.value)) < 200


def test_errors_are_value_errors() -> None:
    assert issubclass(InvalidMessage, ValueError)
    assert issubclass(MessageTooLarge, InvalidMessage)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/link/start", "http://localhost/link/start", "http://[::1]:80/link"],
)
def test_account_link_accepts_http_only_on_loopback(url: str) -> None:
    # The offline demo runs on loopback, which no real Messenger could open anyway.
    assert account_link_button(url) == {"type": "account_link", "url": url}


@pytest.mark.parametrize("url", ["http://10.0.0.1/link", "http://127.0.0.1.example.com/link"])
def test_account_link_refuses_http_elsewhere(url: str) -> None:
    with pytest.raises(InvalidMessage, match="must be an https URL"):
        account_link_button(url)


def test_templates_take_quick_replies() -> None:
    replies = [quick_reply("Later", "LATER")]
    buttons = button_template("Pick", [postback_button("Go", "GO")], replies)
    assert buttons["quick_replies"] == replies
    cards = generic_template([generic_element("Card")], replies)
    assert cards["quick_replies"] == replies
    assert "quick_replies" not in button_template("Pick", [postback_button("Go", "GO")])
    with pytest.raises(MessageTooLarge, match="quick_replies has 14"):
        button_template("Pick", [postback_button("Go", "GO")], replies * 14)


def test_with_quick_replies_copies_the_message() -> None:
    image = {"attachment": {"type": "image", "payload": {"url": "https://x/i.png"}}}
    both = with_quick_replies(image, [quick_reply("More", "MORE")])
    assert both == {**image, "quick_replies": [quick_reply("More", "MORE")]}
    assert "quick_replies" not in image
    assert with_quick_replies(image, None) is image


def test_sender_actions() -> None:
    assert sender_action("typing_on") == {"sender_action": "typing_on"}
    assert sender_action("mark_seen") == {"sender_action": "mark_seen"}
    with pytest.raises(InvalidMessage, match="sender action 'wave'"):
        sender_action("wave")

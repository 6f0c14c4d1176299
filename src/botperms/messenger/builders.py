"""Send API message bodies as plain dicts, checked against Messenger's limits before sending.

Facebook answers an over-long title or a fourth button with a generic code-100 error (or silently
truncates), so the limits are enforced here where the error can name the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from botperms.config import is_loopback

TEXT_MAX = 2000
QUICK_REPLIES_MAX = 13
QUICK_REPLY_TITLE_MAX = 20
PAYLOAD_MAX = 1000
METADATA_MAX = 1000
TEMPLATE_TEXT_MAX = 640
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
ELEMENTS_MAX = 10
ELEMENT_TITLE_MAX = 80
ELEMENT_SUBTITLE_MAX = 80
_SHOWN = 40  # characters of an offending value quoted in an error
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")


class InvalidMessage(ValueError):
    """A message body breaks a Messenger rule; the text names the field and the limit."""


class MessageTooLarge(InvalidMessage):
    """A text is too long, or a list holds too many items."""


def _quoted(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "…")


def _text(field: str, value: str, limit: int, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidMessage(f"{field} must be a string, not {type(value).__name__}")
    if required and not value.strip():
        raise InvalidMessage(f"{field} must not be empty")
    if len(value) > limit:
        raise MessageTooLarge(
            f"{field} {_quoted(value)} is {len(value)} characters; Messenger allows at most {limit}"
        )
    return value


def _count(field: str, items: Sequence[Any], low: int, high: int) -> list[Any]:
    if len(items) < low:
        raise InvalidMessage(f"{field} needs at least {low}; got {len(items)}")
    if len(items) > high:
        raise MessageTooLarge(f"{field} has {len(items)}; Messenger allows at most {high}")
    return list(items)


def _url(field: str, url: str, *, https_only: bool = False, loopback_http: bool = False) -> str:
    parts = urlsplit(url)
    allowed = ("https",) if https_only else ("http", "https")
    if loopback_http and parts.hostname and is_loopback(parts.hostname):
        allowed = ("http", "https")
    if parts.scheme not in allowed or not parts.hostname:
        need = "an https URL" if https_only else "an http(s) URL"
        raise InvalidMessage(f"{field} must be {need}; got {_quoted(url)}")
    return url


def with_quick_replies(
    message: dict[str, Any], quick_replies: Sequence[dict[str, Any]] | None
) -> dict[str, Any]:
    """``message`` (any message body) with ``quick_replies`` under it; unchanged without any.

    At most 13 quick replies; they show under the message until the person answers.
    """
    if not quick_replies:
        return message
    return {
        **message,
        "quick_replies": _count("quick_replies", quick_replies, 1, QUICK_REPLIES_MAX),
    }


def quick_reply(title: str, payload: str, image_url: str | None = None) -> dict[str, Any]:
    """A text quick reply for ``quick_replies=``: a chip showing ``title`` that sends
    ``payload`` when tapped (it comes back as a message whose ``quick_reply`` payload is
    ``payload``).

    ``title`` takes at most 20 characters, ``payload`` at most 1000. ``image_url`` (http or
    https) shows a small icon on the chip.
    """
    reply: dict[str, Any] = {
        "content_type": "text",
        "title": _text("quick reply title", title, QUICK_REPLY_TITLE_MAX),
        "payload": _text("quick reply payload", payload, PAYLOAD_MAX),
    }
    if image_url is not None:
        reply["image_url"] = _url("quick reply image_url", image_url)
    return reply


def email_quick_reply() -> dict[str, Any]:
    """Offers the person's email address (pre-filled by Messenger) as a reply."""
    return {"content_type": "user_email"}


def phone_quick_reply() -> dict[str, Any]:
    """Offers the person's phone number (pre-filled by Messenger) as a reply."""
    return {"content_type": "user_phone_number"}


def text_message(
    text: str,
    quick_replies: Sequence[dict[str, Any]] | None = None,
    metadata: str | None = None,
) -> dict[str, Any]:
    """A text body for ``ctx.reply(message=...)``: at most 2000 characters, optionally with
    quick replies. ``metadata`` (at most 1000 characters) is echoed back to your webhook with
    the message's echo."""
    message = with_quick_replies({"text": _text("message text", text, TEXT_MAX)}, quick_replies)
    if metadata is not None:
        message["metadata"] = _text("metadata", metadata, METADATA_MAX, required=False)
    return message


def _template(payload: dict[str, Any]) -> dict[str, Any]:
    return {"attachment": {"type": "template", "payload": payload}}


def button_template(
    text: str,
    buttons: Sequence[dict[str, Any]],
    quick_replies: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A button-template body for ``ctx.reply(message=...)``: ``text`` (at most 640
    characters) with one to three buttons under it, and optionally quick replies below that."""
    message = _template(
        {
            "template_type": "button",
            "text": _text("button template text", text, TEMPLATE_TEXT_MAX),
            "buttons": _count("button template buttons", buttons, 1, BUTTONS_MAX),
        }
    )
    return with_quick_replies(message, quick_replies)


def web_url_button(
    title: str,
    url: str,
    *,
    height: Literal["compact", "tall", "full"] = "full",
    messenger_extensions: bool = False,
    fallback_url: str | None = None,
    hide_share: bool = False,
) -> dict[str, Any]:
    """A button that opens ``url`` in Messenger's webview (or a browser tab on desktop).

    ``title`` takes at most 20 characters. ``height`` is ``"compact"``, ``"tall"`` or
    ``"full"``. ``messenger_extensions=True`` lets the page use the Messenger Extensions SDK
    and needs an https URL on a whitelisted domain; ``fallback_url`` (for clients without
    extensions) is allowed only with it. ``hide_share`` hides the webview's share button.
    """
    if height not in ("compact", "tall", "full"):
        raise InvalidMessage(f"webview height {height!r} must be 'compact', 'tall' or 'full'")
    button: dict[str, Any] = {
        "type": "web_url",
        "url": _url("web_url button url", url, https_only=messenger_extensions),
        "title": _text("button title", title, BUTTON_TITLE_MAX),
        "webview_height_ratio": height,
    }
    if messenger_extensions:
        button["messenger_extensions"] = True
    if fallback_url is not None:
        # Messenger only uses the fallback when extensions are on; without them it is a mistake.
        if not messenger_extensions:
            raise InvalidMessage("fallback_url is only allowed with messenger_extensions=True")
        button["fallback_url"] = _url("web_url button fallback_url", fallback_url)
    if hide_share:
        button["webview_share_button"] = "hide"
    return button


def postback_button(title: str, payload: str) -> dict[str, Any]:
    """A button that sends ``payload`` back to the bot as a postback event (routed by
    ``@bot.on_postback(payload)``). ``title`` takes at most 20 characters, ``payload`` at most
    1000."""
    return {
        "type": "postback",
        "title": _text("button title", title, BUTTON_TITLE_MAX),
        "payload": _text("postback payload", payload, PAYLOAD_MAX),
    }


def account_link_button(url: str) -> dict[str, Any]:
    """The log-in button of account linking. It has no title; Messenger draws its own.
    ``ctx.send_login_prompt`` makes it for you in the account_link flow.

    Messenger wants https; plain http is accepted only for a loopback host (the offline demo
    and tests), which no real Messenger could reach anyway.
    """
    url = _url("account_link url", url, https_only=True, loopback_http=True)
    return {"type": "account_link", "url": url}


def account_unlink_button() -> dict[str, Any]:
    """The log-out button of account linking; tapping it sends an ``unlinked`` webhook."""
    return {"type": "account_unlink"}


def generic_element(
    title: str,
    subtitle: str | None = None,
    image_url: str | None = None,
    buttons: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """One card for ``ctx.reply(elements=...)`` or ``generic_template``: ``title`` and
    ``subtitle`` take at most 80 characters each; ``image_url`` is http(s); one to three
    buttons if any."""
    element: dict[str, Any] = {"title": _text("element title", title, ELEMENT_TITLE_MAX)}
    if subtitle is not None:
        element["subtitle"] = _text("element subtitle", subtitle, ELEMENT_SUBTITLE_MAX)
    if image_url is not None:
        element["image_url"] = _url("element image_url", image_url)
    if buttons:
        element["buttons"] = _count("element buttons", buttons, 1, BUTTONS_MAX)
    return element


def generic_template(
    elements: Sequence[dict[str, Any]], quick_replies: Sequence[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A generic-template body for ``ctx.reply(message=...)``: a horizontally scrolling row
    of one to ten cards (see ``generic_element``)."""
    message = _template(
        {
            "template_type": "generic",
            "elements": _count("generic template elements", elements, 1, ELEMENTS_MAX),
        }
    )
    return with_quick_replies(message, quick_replies)


def sender_action(action: str) -> dict[str, Any]:
    """An outbox payload showing the typing indicator (``typing_on``/``typing_off``) or marking
    the conversation seen (``mark_seen``); it goes out in order with the messages around it."""
    if action not in SENDER_ACTIONS:
        raise InvalidMessage(f"sender action {action!r} is not one of {', '.join(SENDER_ACTIONS)}")
    return {"sender_action": action}

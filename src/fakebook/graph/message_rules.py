"""Send API message shapes and limits (contract §2.3), checked with readable (#100) errors.

Messages name the field by its path (message[quick_replies][3][title]) the way Facebook's do,
so a bot author sees which part of a payload broke which limit.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fakebook.errors import GraphError, invalid_param

TEXT_MAX = 2000
QUICK_REPLIES_MAX = 13
QUICK_REPLY_TITLE_MAX = 20
PAYLOAD_MAX = 1000
BUTTON_TEXT_MAX = 640
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
GENERIC_ELEMENTS_MAX = 10
ELEMENT_TEXT_MAX = 80
QUICK_REPLY_TYPES = ("text", "user_email", "user_phone_number")
HEIGHT_RATIOS = ("compact", "tall", "full")
MEDIA_TYPES = ("image", "audio", "video", "file")


def _fail(message: str) -> GraphError:
    return invalid_param(message)


def _string(value: Any, where: str, *, limit: int | None = None, required: bool = True) -> None:
    if value is None:
        if required:
            raise _fail(f"param {where} must be non-empty.")
        return
    if not isinstance(value, str) or (required and not value):
        raise _fail(f"param {where} must be a non-empty string.")
    if limit is not None and len(value) > limit:
        raise _fail(f"Length of param {where} must be less than or equal to {limit}")


def _url(value: Any, where: str, *, https_only: bool = False) -> None:
    _string(value, where)
    schemes = ("https://",) if https_only else ("http://", "https://")
    if not str(value).startswith(schemes):
        need = "an https URL" if https_only else "an http or https URL"
        raise _fail(f"param {where} must be {need}.")


def _is_loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def _no_extra(item: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(item) - allowed)
    if extra:
        raise _fail(f"param {where} has unexpected field(s): {', '.join(extra)}")


def check_button(button: Any, where: str) -> None:
    if not isinstance(button, dict):
        raise _fail(f"param {where} must be an object.")
    kind = button.get("type")
    if kind == "web_url":
        _string(button.get("title"), f"{where}[title]", limit=BUTTON_TITLE_MAX)
        _url(button.get("url"), f"{where}[url]")
        ratio = button.get("webview_height_ratio")
        if ratio is not None and ratio not in HEIGHT_RATIOS:
            raise _fail(f"param {where}[webview_height_ratio] must be one of {HEIGHT_RATIOS}.")
        if "fallback_url" in button:
            if not button.get("messenger_extensions"):
                raise _fail(f"param {where}[fallback_url] requires messenger_extensions.")
            _url(button["fallback_url"], f"{where}[fallback_url]")
        share = button.get("webview_share_button")
        if share is not None and share != "hide":
            raise _fail(f'param {where}[webview_share_button] can only be "hide".')
    elif kind == "postback":
        _string(button.get("title"), f"{where}[title]", limit=BUTTON_TITLE_MAX)
        _string(button.get("payload"), f"{where}[payload]", limit=PAYLOAD_MAX)
    elif kind == "account_link":
        _no_extra(button, {"type", "url"}, where)
        url = button.get("url")
        # Facebook wants https; fakebook also takes a bot on loopback (the offline demo's).
        if not (isinstance(url, str) and _is_loopback_http(url)):
            _url(url, f"{where}[url]", https_only=True)
    elif kind == "account_unlink":
        _no_extra(button, {"type"}, where)
    elif kind == "phone_number":
        _string(button.get("title"), f"{where}[title]", limit=BUTTON_TITLE_MAX)
        payload = button.get("payload")
        _string(payload, f"{where}[payload]")
        if not (str(payload).startswith("+") and str(payload)[1:].isdigit()):
            raise _fail(f"param {where}[payload] must be a phone number like +15105551234.")
    else:
        raise _fail(
            f"param {where}[type] must be one of web_url, postback, account_link,"
            f" account_unlink, phone_number (got {kind!r})."
        )


def _check_buttons(buttons: Any, where: str, *, minimum: int) -> None:
    if buttons is None and minimum == 0:
        return
    if not isinstance(buttons, list) or not minimum <= len(buttons) <= BUTTONS_MAX:
        raise _fail(f"param {where} must be an array of {minimum} to {BUTTONS_MAX} buttons.")
    for index, button in enumerate(buttons):
        check_button(button, f"{where}[{index}]")


def _check_element(element: Any, where: str) -> None:
    if not isinstance(element, dict):
        raise _fail(f"param {where} must be an object.")
    _string(element.get("title"), f"{where}[title]", limit=ELEMENT_TEXT_MAX)
    _string(element.get("subtitle"), f"{where}[subtitle]", limit=ELEMENT_TEXT_MAX, required=False)
    if element.get("image_url") is not None:
        _url(element["image_url"], f"{where}[image_url]")
    action = element.get("default_action")
    if action is not None:
        if not isinstance(action, dict) or action.get("type") != "web_url":
            raise _fail(f"param {where}[default_action] must be a web_url action.")
        if "title" in action:
            raise _fail(f"param {where}[default_action] must not have a title.")
        _url(action.get("url"), f"{where}[default_action][url]")
    _check_buttons(element.get("buttons"), f"{where}[buttons]", minimum=0)


def _check_template(payload: dict[str, Any], where: str) -> None:
    kind = payload.get("template_type")
    if kind == "button":
        _string(payload.get("text"), f"{where}[text]", limit=BUTTON_TEXT_MAX)
        _check_buttons(payload.get("buttons"), f"{where}[buttons]", minimum=1)
    elif kind == "generic":
        elements = payload.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= GENERIC_ELEMENTS_MAX:
            raise _fail(
                f"param {where}[elements] must be an array of 1 to {GENERIC_ELEMENTS_MAX} elements."
            )
        for index, element in enumerate(elements):
            _check_element(element, f"{where}[elements][{index}]")
    else:
        raise _fail(
            f"param {where}[template_type] must be button or generic; fakebook does not"
            f" emulate {kind!r}."
        )


def _check_attachment(attachment: Any) -> None:
    where = "message[attachment]"
    if not isinstance(attachment, dict):
        raise _fail(f"param {where} must be an object.")
    payload = attachment.get("payload")
    if not isinstance(payload, dict):
        raise _fail(f"param {where}[payload] must be an object.")
    kind = attachment.get("type")
    if kind == "template":
        _check_template(payload, f"{where}[payload]")
    elif kind in MEDIA_TYPES:
        if "attachment_id" not in payload:
            _url(payload.get("url"), f"{where}[payload][url]")
    else:
        raise _fail(f"param {where}[type] must be one of template, {', '.join(MEDIA_TYPES)}.")


def _check_quick_replies(quick_replies: Any) -> None:
    where = "message[quick_replies]"
    if not isinstance(quick_replies, list) or not 1 <= len(quick_replies) <= QUICK_REPLIES_MAX:
        raise _fail(f"param {where} must be an array of 1 to {QUICK_REPLIES_MAX} quick replies.")
    for index, reply in enumerate(quick_replies):
        at = f"{where}[{index}]"
        if not isinstance(reply, dict):
            raise _fail(f"param {at} must be an object.")
        kind = reply.get("content_type", "text")
        if kind not in QUICK_REPLY_TYPES:
            raise _fail(f"param {at}[content_type] must be one of {', '.join(QUICK_REPLY_TYPES)}.")
        if kind == "text":
            _string(reply.get("title"), f"{at}[title]", limit=QUICK_REPLY_TITLE_MAX)
            _string(reply.get("payload"), f"{at}[payload]", limit=PAYLOAD_MAX)
            if reply.get("image_url") is not None:
                _url(reply["image_url"], f"{at}[image_url]")


def check_message(message: dict[str, Any]) -> None:
    """Raise a (#100) GraphError if `message` is not a valid Send API message."""
    _no_extra(message, {"text", "attachment", "quick_replies", "metadata"}, "message")
    has_text = message.get("text") is not None
    has_attachment = message.get("attachment") is not None
    if has_text == has_attachment:
        raise _fail("param message must have exactly one of text or attachment.")
    if has_text:
        _string(message["text"], "message[text]", limit=TEXT_MAX)
    else:
        _check_attachment(message["attachment"])
    if "quick_replies" in message:
        _check_quick_replies(message["quick_replies"])
    _string(message.get("metadata"), "message[metadata]", limit=PAYLOAD_MAX, required=False)

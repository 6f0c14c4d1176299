"""The Send API bodies behind ``ctx.reply`` and ``ctx.send_login_prompt``: which form a call
asked for, and which login buttons a person gets. Pure functions; the context stages them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from botperms.messenger import (
    account_link_button,
    button_template,
    generic_template,
    quick_reply,
    text_message,
    web_url_button,
    with_quick_replies,
)

LOGIN_BUTTON_TITLE = "Log in with Facebook"  # 20 characters: Messenger's button title limit
# Account linking works only in the Messenger phone apps (contract §3); people on messenger.com
# or facebook.com need this second, ordinary login button.
BROWSER_BUTTON_TITLE = "Log in on a computer"
LOGIN_PROMPT = "To do that I need your permission on Facebook."

QuickReply = tuple[str, str] | dict[str, Any]


def reply_body(
    text: str | None,
    *,
    buttons: Sequence[dict[str, Any]],
    quick_replies: Sequence[QuickReply],
    elements: Sequence[dict[str, Any]],
    message: dict[str, Any] | None,
) -> dict[str, Any]:
    """The message ``ctx.reply`` was asked to send; ``ValueError`` for a mix of forms."""
    replies = [r if isinstance(r, dict) else quick_reply(*r) for r in quick_replies] or None
    if message is not None:
        if text is not None or buttons or elements:
            raise ValueError("reply(message=...) takes no text, buttons or elements")
        return with_quick_replies(message, replies)
    if elements:
        if text is not None or buttons:
            raise ValueError("a generic template has no text or buttons of its own")
        return generic_template(elements, replies)
    if text is None:
        raise ValueError("reply() needs text or message (or elements)")
    if buttons:
        return button_template(text, buttons, replies)
    return text_message(text, quick_replies=replies)


def login_buttons(
    login_url: str,
    *,
    link_url: str | None,
    button_title: str,
    browser_button_title: str,
) -> list[dict[str, Any]]:
    """Messenger's account_link button (to ``link_url``) beside a web_url button for
    computers, or — without ``link_url`` — the one web_url login button."""
    if link_url is None:
        return [web_url_button(button_title, login_url, height="full")]
    return [
        account_link_button(link_url),
        web_url_button(browser_button_title, login_url, height="full"),
    ]


def link_url_for(base: str, scopes: tuple[str, ...], page_id: str | None = None) -> str:
    """Our account-linking URL asking for ``scopes``; ``page_id`` tells it which page's token
    resolves the person (with several pages)."""
    if not base:
        raise ValueError("Runtime.link_url must be set for the account_link flow")
    parts = urlsplit(base)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.append(("scope", ",".join(scopes)))
    if page_id is not None:
        query.append(("page_id", page_id))
    return urlunsplit(parts._replace(query=urlencode(query)))

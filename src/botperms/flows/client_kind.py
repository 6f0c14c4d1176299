"""Which kind of browser came back from Facebook Login: Messenger's in-app browser, a phone, or a
desktop. It decides how we send the person back to the conversation."""

from __future__ import annotations

import re
from enum import StrEnum

import ua_parser

# Messenger's in-app browser markers (contract §9). A bare "Messenger" is never matched:
# WeChat's "MicroMessenger" would hit it.
_MESSENGER_IN_APP = re.compile(
    r"FBAN/Messenger(?:ForiOS|LiteForiOS)|FB_IAB/(?:MESSENGER|Orca-Android)|FBAN/Orca"
)
_MOBILE_OS = {"iOS", "Android", "iPadOS", "Windows Phone", "BlackBerry OS", "KaiOS"}


class ClientKind(StrEnum):
    MESSENGER_APP = "messenger_app"
    PHONE = "phone"
    DESKTOP = "desktop"


def classify(user_agent: str | None) -> ClientKind:
    if not user_agent:
        # Unknown clients get the desktop page: it works everywhere and always shows a link.
        return ClientKind.DESKTOP
    # Over HTTP a header is latin-1 text; anything else (a lone surrogate from a caller) would
    # make the parser's UTF-8 encoding raise.
    user_agent = user_agent.encode("utf-8", "replace").decode("utf-8")
    if _MESSENGER_IN_APP.search(user_agent):
        return ClientKind.MESSENGER_APP
    os = ua_parser.parse_os(user_agent)
    if os is not None and os.family in _MOBILE_OS:
        return ClientKind.PHONE
    device = ua_parser.parse_device(user_agent)
    if device is not None and device.family in {"iPhone", "iPad", "iPod"}:
        return ClientKind.PHONE
    return ClientKind.DESKTOP


def messenger_url(m_me_url: str, page_id: str) -> str:
    """The conversation with the page: ``https://m.me/{page}`` opens the Messenger app on phones."""
    return f"{m_me_url}/{page_id}"

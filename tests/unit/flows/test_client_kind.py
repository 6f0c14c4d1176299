from __future__ import annotations

import pytest

from botperms.flows import ClientKind, classify, messenger_url

IOS_MESSENGER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 [FBAN/MessengerForiOS;FBAV/466.0.0.41.109;FBBV/612345;FBSN/iOS]"
)
ANDROID_MESSENGER = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A; wv) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Version/4.0 Chrome/126.0 Mobile Safari/537.36 [FB_IAB/MESSENGER;FBAV/450.0.0.42.109;]"
)
ORCA = "Mozilla/5.0 (Linux; Android 9) Mobile Safari/537.36 [FB_IAB/Orca-Android;FBAV/300.0;]"
LITE = "LightSpeed [FBAN/MessengerLiteForiOS;FBAV/310.0.0.43.116;FBBV/1;FBDV/iPhone12,1]"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
FACEBOOK_APP_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.36.108;FBBV/1;FBDV/iPhone15,2]"
)
WECHAT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/81.0 Safari/537.36 MicroMessenger/7.0.20.1781 WindowsWechat"
)
DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
    "Safari/537.36"
)
DESKTOP_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15"
)


@pytest.mark.parametrize(
    ("user_agent", "kind"),
    [
        (IOS_MESSENGER, ClientKind.MESSENGER_APP),
        (ANDROID_MESSENGER, ClientKind.MESSENGER_APP),
        (ORCA, ClientKind.MESSENGER_APP),
        (LITE, ClientKind.MESSENGER_APP),
        (IPHONE_SAFARI, ClientKind.PHONE),
        (ANDROID_CHROME, ClientKind.PHONE),
        (FACEBOOK_APP_IOS, ClientKind.PHONE),
        (WECHAT, ClientKind.DESKTOP),
        (DESKTOP_CHROME, ClientKind.DESKTOP),
        (DESKTOP_MAC, ClientKind.DESKTOP),
        (None, ClientKind.DESKTOP),
        ("", ClientKind.DESKTOP),
        ("curl/8.0", ClientKind.DESKTOP),
    ],
)
def test_classify(user_agent: str | None, kind: ClientKind) -> None:
    assert classify(user_agent) is kind


def test_messenger_url() -> None:
    assert messenger_url("https://m.me", "123") == "https://m.me/123"


def test_a_lone_surrogate_is_classified_not_raised() -> None:
    # Found by tests/fuzz: the UA parser encodes to UTF-8 and raised UnicodeEncodeError.
    assert classify("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) \ud800") is ClientKind.PHONE
    assert classify("\ud800") is ClientKind.DESKTOP

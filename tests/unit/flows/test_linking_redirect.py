"""Where account linking may send a browser back to, and how the code is appended."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from botperms.config import Settings
from botperms.flows import FailureReason, FlowError, safe_redirect_uri
from botperms.flows.login import with_code
from tests.unit.test_config import make

REAL = "https://www.facebook.com/messenger_platform/account_linking/?account_linking_token=ARTx-123"


@pytest.fixture
def settings() -> Settings:
    return make(www_url="http://127.0.0.1:8081")


@pytest.mark.parametrize(
    "uri",
    [
        REAL,
        "https://facebook.com/messenger_platform/account_linking/?x=1",
        "https://www.messenger.com/messenger_platform/account_linking/",
        "https://m.facebook.com:443/messenger_platform/account_linking/",
        "http://127.0.0.1:8081/messenger_platform/account_linking/?account_linking_token=T",
    ],
)
def test_messenger_and_the_configured_www_are_followed(settings: Settings, uri: str) -> None:
    assert safe_redirect_uri(uri, settings) == uri


@pytest.mark.parametrize(
    "uri",
    [
        None,
        "",
        "https://evil.example/messenger_platform/account_linking/",
        "https://facebook.com.evil.example/",
        "https://evilfacebook.com/",
        "http://www.facebook.com/messenger_platform/account_linking/",
        "https://www.facebook.com:8443/",
        "https://user:pw@www.facebook.com/",
        "//www.facebook.com/messenger_platform/",
        "/relative/path",
        "javascript:alert(1)",
        "https://www.facebook.com\\@evil.example/",
        "https://www.facebook.com/\r\nLocation: https://evil.example/",
        "http://127.0.0.1:9999/other-port",
        "http://localhost:8081/not-the-configured-host",
        "https://www.facebook.com:notaport/",
        "https://" + "a" * 3000 + ".facebook.com/",
        # Found by the property tests: empty labels and control characters.
        "https://.messenger.com/",
        "https://..facebook.com/",
        "https://evil.com\x0b.messenger.com/",
        "https://evil.com\x00.facebook.com/x",
        "https://www.messenger.com/\x1f",
    ],
)
def test_anything_else_is_refused(settings: Settings, uri: str | None) -> None:
    with pytest.raises(FlowError) as refused:
        safe_redirect_uri(uri, settings)
    assert refused.value.reason is FailureReason.LINK_REDIRECT_INVALID
    assert refused.value.http_status == 400
    assert refused.value.link_redirect is None  # never redirected to


def test_the_code_is_appended_to_the_existing_query() -> None:
    url = with_code(REAL, "c0de/+=")
    parts = urlsplit(url)
    assert parts.netloc == "www.facebook.com"
    assert parts.path == "/messenger_platform/account_linking/"
    assert parse_qs(parts.query) == {
        "account_linking_token": ["ARTx-123"],
        "authorization_code": ["c0de/+="],
    }


def test_a_code_already_in_the_query_is_replaced_not_doubled() -> None:
    url = with_code("https://www.facebook.com/x?authorization_code=forged", "mine")
    assert parse_qs(urlsplit(url).query) == {"authorization_code": ["mine"]}


def test_a_redirect_uri_without_query_gets_one() -> None:
    assert with_code("https://www.facebook.com/x", "c") == (
        "https://www.facebook.com/x?authorization_code=c"
    )

"""User agents, account linking's redirect_uri and the profile TOML: a typed result or a typed
error for any input."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from botperms.config import Settings
from botperms.flows import FailureReason, FlowError
from botperms.flows.client_kind import ClientKind, classify
from botperms.flows.linking import safe_redirect_uri
from botperms.messenger.profile import (
    MessengerProfileError,
    MessengerProfileFile,
    desired_messenger_profile,
    loads_messenger_profile,
    parse_messenger_profile,
)
from tests.flows.conftest import make_settings
from tests.fuzz.strategies import json_values, text

SETTINGS: Settings = make_settings(Path("/nonexistent"))
UA_PARTS = [
    "Mozilla/5.0 ", "(iPhone; CPU iPhone OS 17_0 like Mac OS X) ", "(Linux; Android 14) ",
    "FBAN/MessengerForiOS;", "FB_IAB/Orca-Android;", "MicroMessenger/8.0", "Mobile ",
    "Safari/604.1", "Chrome/120.0 ", "(Windows NT 10.0; Win64; x64) ", ";", "/", "(",
]  # fmt: skip


@given(st.none() | st.text(max_size=300) | st.lists(st.sampled_from(UA_PARTS) | text).map("".join))
def test_any_user_agent_is_a_client_kind(user_agent: str | None) -> None:
    assert isinstance(classify(user_agent), ClientKind)


@given(st.text(max_size=4000))
def test_long_user_agents_are_classified(user_agent: str) -> None:
    assert isinstance(classify("Mozilla/5.0 (iPhone) " + user_agent), ClientKind)


HOSTS = ["www.messenger.com", "messenger.com", "m.me", "facebook.com", "www.facebook.com",
         "evil.com", "messenger.com.evil.com", "evilmessenger.com", "fakebook.invalid",
         "[::1]", "127.0.0.1", ".messenger.com", "www.messenger.com@evil.com"]  # fmt: skip
redirect_uris = st.one_of(
    st.text(max_size=80),
    st.builds(
        "{}://{}{}{}".format,
        st.sampled_from(["https", "http", "HTTPS", "javascript", ""]),
        st.sampled_from(HOSTS) | text,
        st.sampled_from(["", ":443", ":8443", ":x", ":99999"]),
        st.sampled_from(["", "/", "/x?y=1#z", "//evil.com", "\\evil.com"]) | text,
    ),
)


def _allowed(host: str) -> bool:
    return any(host == a or host.endswith("." + a) for a in SETTINGS.linking_redirect_hosts)


@given(redirect_uris)
def test_redirect_uri_is_followed_only_to_facebook_hosts(raw: str) -> None:
    try:
        accepted = safe_redirect_uri(raw, SETTINGS)
    except FlowError as exc:
        reason = exc.reason
        assert reason is FailureReason.LINK_REDIRECT_INVALID
        return
    assert accepted == raw
    parts = urlsplit(raw)
    if (parts.scheme, parts.netloc.lower()) == ("https", "fakebook.invalid"):
        return  # exactly the configured www_url (fakebook offline)
    assert parts.scheme == "https"
    assert parts.username is None
    assert parts.password is None
    assert parts.port in (None, 443)
    assert _allowed((parts.hostname or "").lower())


toml_keys = st.sampled_from(
    ["get_started", "greeting", "persistent_menu", "ice_breakers", "whitelisted_domains",
     "payload", "locale", "text", "call_to_actions", "type", "title", "url", "question"]
)  # fmt: skip


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def profile_texts(draw: st.DrawFn) -> str:
    values = st.recursive(
        st.booleans()
        | st.integers()
        | st.text(max_size=20)
        | st.sampled_from(
            ["default", "en_US", "postback", "web_url", "https://example.com", "https://[x"]
        ),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(toml_keys, inner, max_size=3),
        max_leaves=10,
    )
    lines = [f"{key} = {_toml_value(draw(values))}"
             for key in draw(st.lists(toml_keys, max_size=5, unique=True))]  # fmt: skip
    return "\n".join(lines)


@given(profile_texts() | st.text(max_size=300))
def test_any_profile_text_is_a_profile_or_a_profile_error(source: str) -> None:
    try:
        spec = loads_messenger_profile(source, "fuzz.toml")
    except MessengerProfileError as exc:
        problems = exc.problems
        assert problems
        return
    assert isinstance(spec, MessengerProfileFile)
    desired = desired_messenger_profile(spec, public_url="https://bot.example.com")
    assert desired["whitelisted_domains"][0] == "https://bot.example.com"


@given(st.dictionaries(toml_keys, json_values, max_size=4))
def test_any_decoded_data_is_a_profile_or_a_profile_error(data: dict[str, Any]) -> None:
    try:
        assert isinstance(parse_messenger_profile(data), MessengerProfileFile)
    except MessengerProfileError as exc:
        problems = exc.problems
        assert problems

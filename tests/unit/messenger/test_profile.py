"""The profile file: reading, every limit of contract §4, and the profile it asks for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from botperms.messenger.profile import (
    MessengerProfileError,
    desired_messenger_profile,
    load_messenger_profile,
    loads_messenger_profile,
    parse_messenger_profile,
)

GET_STARTED = {"payload": "GET_STARTED"}


def menu(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"locale": "default", "call_to_actions": list(items), **extra}


def postback(title: str = "Help", payload: str = "HELP") -> dict[str, Any]:
    return {"type": "postback", "title": title, "payload": payload}


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(MessengerProfileError) as caught:
        parse_messenger_profile(data)
    return [str(problem) for problem in caught.value.problems]


def test_a_full_file_reads(tmp_path: Path) -> None:
    path = tmp_path / "messenger_profile.toml"
    path.write_text(
        """
whitelisted_domains = ["https://cdn.example.com/"]

[get_started]
payload = "GET_STARTED"

[[greeting]]
locale = "default"
text = "Hi {{user_first_name}}!"

[[greeting]]
locale = "fr_FR"
text = "Salut {{user_first_name}} !"

[[persistent_menu]]
locale = "default"
composer_input_disabled = true

[[persistent_menu.call_to_actions]]
type = "postback"
title = "My likes"
payload = "MY_LIKES"

[[persistent_menu.call_to_actions]]
type = "web_url"
title = "Our site"
url = "https://bot.example.com/about"
webview_height_ratio = "tall"

[[ice_breakers]]
locale = "default"
[[ice_breakers.call_to_actions]]
question = "What can you do?"
payload = "HELP"
""",
        encoding="utf-8",
    )
    spec = load_messenger_profile(path)
    profile = desired_messenger_profile(spec, public_url="https://bot.example.com/base")
    assert list(profile) == [
        "get_started",
        "greeting",
        "ice_breakers",
        "persistent_menu",
        "whitelisted_domains",
    ]
    assert profile["persistent_menu"] == [
        {
            "locale": "default",
            "composer_input_disabled": True,
            "call_to_actions": [
                postback("My likes", "MY_LIKES"),
                {
                    "type": "web_url",
                    "title": "Our site",
                    "url": "https://bot.example.com/about",
                    "webview_height_ratio": "tall",
                },
            ],
        }
    ]
    assert profile["ice_breakers"] == [
        {
            "locale": "default",
            "call_to_actions": [{"question": "What can you do?", "payload": "HELP"}],
        }
    ]
    # Our origin comes first, and a trailing slash is dropped.
    assert profile["whitelisted_domains"] == ["https://bot.example.com", "https://cdn.example.com"]
    assert "account_linking_url" not in profile


def test_our_origin_is_added_once_and_the_linking_url_is_derived() -> None:
    spec = parse_messenger_profile({"whitelisted_domains": ["https://bot.example.com"]})
    profile = desired_messenger_profile(
        spec,
        public_url="https://bot.example.com",
        account_linking_url="https://bot.example.com/link/start",
    )
    assert profile == {
        "whitelisted_domains": ["https://bot.example.com"],
        "account_linking_url": "https://bot.example.com/link/start",
    }
    # An empty file still manages the whitelist, because our own origin must be on it.
    assert desired_messenger_profile(
        parse_messenger_profile({}), public_url="http://127.0.0.1:8000"
    ) == {"whitelisted_domains": ["http://127.0.0.1:8000"]}


def test_unreadable_files_say_why(tmp_path: Path) -> None:
    with pytest.raises(MessengerProfileError, match="no such file"):
        load_messenger_profile(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[get_started\npayload = 1\n", encoding="utf-8")
    with pytest.raises(MessengerProfileError, match="is not valid TOML"):
        load_messenger_profile(broken)


def test_typos_and_wrong_types_name_the_field() -> None:
    assert problems({"greetings": [], "get_started": {"payload": 5}}) == [
        "get_started.payload: input should be a valid string",
        "greetings: is not a field here (a typo?)",
    ]
    assert problems({"greeting": [{"text": "Hi"}]}) == ["greeting[0].locale: is required"]
    assert problems({"account_linking_url": "https://x.example/l"}) == [
        "account_linking_url: is derived from BOTPERMS_PUBLIC_URL when BOTPERMS_LOGIN_FLOW is "
        "account_link; leave it out of the file"
    ]
    assert problems({"home_url": {}}) == ["home_url: was deprecated by Facebook in v7.0"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"get_started": {"payload": "x" * 1001}},
            "get_started.payload: 1001 characters, the limit is 1000",
        ),
        ({"get_started": {"payload": ""}}, "get_started.payload: must not be empty"),
        (
            {"greeting": [{"locale": "default", "text": "é" * 161}]},
            "greeting[0].text: 161 characters, the limit is 160",
        ),
        (
            {"greeting": [{"locale": "en_US", "text": "Hi"}]},
            'greeting: needs an entry with locale = "default"',
        ),
        (
            {"greeting": [{"locale": "english", "text": "Hi"}, {"locale": "default", "text": "a"}]},
            "greeting[0].locale: 'english' is not a locale (use default, or a form like en_US)",
        ),
        (
            {"greeting": [{"locale": "default", "text": "a"}, {"locale": "default", "text": "b"}]},
            "greeting[1].locale: 'default' appears twice",
        ),
        (
            {"persistent_menu": [menu(postback())]},
            "persistent_menu: needs get_started in the file too (Facebook refuses a menu "
            "without a Get Started button)",
        ),
        (
            {
                "get_started": GET_STARTED,
                "persistent_menu": [menu(postback(), postback(), postback(), postback("t" * 34))],
            },
            "persistent_menu[0].call_to_actions[3].title: 34 characters, the limit is 30",
        ),
        (
            {"get_started": GET_STARTED, "persistent_menu": [menu(*[postback()] * 21)]},
            "persistent_menu[0].call_to_actions: 21 items, the limit is 20",
        ),
        (
            {"get_started": GET_STARTED, "persistent_menu": [menu(postback(payload="p" * 1001))]},
            "persistent_menu[0].call_to_actions[0].payload: 1001 characters, the limit is 1000",
        ),
        (
            {
                "get_started": GET_STARTED,
                "persistent_menu": [menu({"type": "nested", "title": "More"})],
            },
            "persistent_menu[0].call_to_actions[0].type: nested menus were removed by Facebook "
            "in v8.0; use up to 20 items on one level",
        ),
        (
            {
                "get_started": GET_STARTED,
                "persistent_menu": [menu({"type": "phone_number", "title": "Call"})],
            },
            "persistent_menu[0].call_to_actions[0].type: 'phone_number' is not postback or web_url",
        ),
        (
            {
                "get_started": GET_STARTED,
                "persistent_menu": [menu({"type": "web_url", "title": "Site", "url": "ftp://x"})],
            },
            "persistent_menu[0].call_to_actions[0].url: 'ftp://x' is not an https or http URL",
        ),
        (
            {
                "get_started": GET_STARTED,
                "persistent_menu": [
                    menu(
                        {"type": "postback", "title": "Go", "payload": "GO", "url": "https://x.io"}
                    )
                ],
            },
            "persistent_menu[0].call_to_actions[0].url: only web_url items take it",
        ),
        (
            {
                "get_started": GET_STARTED,
                "persistent_menu": [menu(composer_input_disabled=True)],
            },
            "persistent_menu[0].composer_input_disabled: true needs call_to_actions (people "
            "could neither type nor tap)",
        ),
        (
            {
                "get_started": GET_STARTED,
                "persistent_menu": [{**menu(postback()), "locale": "fr_FR"}],
            },
            'persistent_menu: needs an entry with locale = "default"',
        ),
        (
            {"whitelisted_domains": [f"https://d{i}.example.com" for i in range(50)]},
            "whitelisted_domains: 50 items, the limit is 49 (50 minus the one kept for "
            "BOTPERMS_PUBLIC_URL)",
        ),
        (
            {"whitelisted_domains": ["http://bot.example.com"]},
            "whitelisted_domains[0]: 'http://bot.example.com' must be an https origin like "
            "https://example.com",
        ),
        (
            {"whitelisted_domains": ["https://127.0.0.1"]},
            "whitelisted_domains[0]: 'https://127.0.0.1' must be a fully qualified domain (no IP "
            "or localhost)",
        ),
        (
            {"whitelisted_domains": ["https://localhost:8443"]},
            "whitelisted_domains[0]: 'https://localhost:8443' must be a fully qualified domain "
            "(no IP or localhost)",
        ),
        (
            {"whitelisted_domains": ["https://example.com/app"]},
            "whitelisted_domains[0]: 'https://example.com/app' must be a domain without a path",
        ),
        (
            {
                "ice_breakers": [
                    {
                        "locale": "default",
                        "call_to_actions": [
                            {"question": f"Q{i}", "payload": "P"} for i in range(5)
                        ],
                    }
                ]
            },
            "ice_breakers[0].call_to_actions: 5 items, the limit is 4",
        ),
        (
            {"ice_breakers": [{"locale": "default", "call_to_actions": []}]},
            "ice_breakers[0].call_to_actions: needs at least one question",
        ),
        (
            {
                "ice_breakers": [
                    {"locale": "de_DE", "call_to_actions": [{"question": "Q", "payload": "P"}]}
                ]
            },
            'ice_breakers: needs an entry with locale = "default"',
        ),
    ],
)
def test_each_limit_names_the_field_and_the_limit(data: dict[str, Any], expected: str) -> None:
    assert expected in problems(data)


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        {
            "get_started": {"payload": "x" * 1001},
            "greeting": [{"locale": "default", "text": "y" * 200}],
        }
    )
    assert found == [
        "get_started.payload: 1001 characters, the limit is 1000",
        "greeting[0].text: 200 characters, the limit is 160",
    ]


def test_limits_are_inclusive() -> None:
    parse_messenger_profile(
        {
            "get_started": {"payload": "p" * 1000},
            "greeting": [{"locale": "default", "text": "g" * 160}],
            "persistent_menu": [menu(*[postback("t" * 30)] * 20)],
            "ice_breakers": [
                {
                    "locale": "default",
                    "call_to_actions": [{"question": "Q", "payload": "P"}] * 4,
                }
            ],
            "whitelisted_domains": [f"https://d{i}.example.com" for i in range(49)],
        }
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Found by tests/fuzz: urlsplit raises ValueError on these, which escaped as a traceback.
        ({"whitelisted_domains": ["https://[oops"]}, "whitelisted_domains[0]: 'https://[oops'"),
        ({"whitelisted_domains": ["https://cdn.example.com:99999"]}, "whitelisted_domains[0]"),
        (
            {
                "get_started": GET_STARTED,
                "persistent_menu": [
                    menu({"type": "web_url", "title": "Site", "url": "https://[::1"})
                ],
            },
            "persistent_menu[0].call_to_actions[0].url: 'https://[::1' is not",
        ),
    ],
)
def test_urls_python_cannot_split_are_problems_of_the_file(
    data: dict[str, Any], expected: str
) -> None:
    (problem,) = problems(data)
    assert problem.startswith(expected)


def test_toml_nested_past_the_parser_is_a_problem_of_the_file() -> None:
    # Found by tests/fuzz: tomllib recursed into RecursionError.
    with pytest.raises(MessengerProfileError, match="nests too deeply"):
        loads_messenger_profile("a = " + "[" * 5000 + "]" * 5000, "deep.toml")

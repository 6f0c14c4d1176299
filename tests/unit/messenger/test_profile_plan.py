"""Diff between the wanted and the current profile, and the order of the calls that apply it."""

from __future__ import annotations

from typing import Any

from botperms.messenger.profile_plan import Change, Step, diff, normalize, plan, reset_plan

GET_STARTED = {"payload": "GET_STARTED"}
GREETING = [{"locale": "default", "text": "Hi!"}]
DOMAINS = ["https://bot.example.com"]


def menu(title: str = "My likes", **extra: Any) -> list[dict[str, Any]]:
    item = {"type": "postback", "title": title, "payload": "LIKES"}
    return [{"locale": "default", "call_to_actions": [item], **extra}]


def test_nothing_differs_when_the_page_has_what_the_file_asks() -> None:
    wanted = {"get_started": GET_STARTED, "greeting": GREETING, "persistent_menu": menu()}
    # Facebook fills in composer_input_disabled and may return domains in its own order.
    current = {
        "get_started": GET_STARTED,
        "greeting": GREETING,
        "persistent_menu": menu(composer_input_disabled=False),
    }
    changes = diff(wanted, current)
    assert not changes
    assert plan(changes) == []
    two = ["https://a.example.com", "https://b.example.com/"]
    assert not diff({"whitelisted_domains": two}, {"whitelisted_domains": two[::-1]})


def test_added_changed_and_unmanaged() -> None:
    wanted = {"get_started": GET_STARTED, "greeting": GREETING}
    current = {
        "greeting": [{"locale": "default", "text": "Hello"}],
        "ice_breakers": [{"locale": "default", "call_to_actions": []}],
    }
    changes = diff(wanted, current)
    assert changes.changes == (
        Change("get_started", "added", after=GET_STARTED),
        Change("greeting", "changed", before=current["greeting"], after=GREETING),
    )
    assert changes.unmanaged == ("ice_breakers",)
    lines = changes.changes[1].lines()
    assert '-    "text": "Hello"' in lines
    assert '+    "text": "Hi!"' in lines
    assert all(line[:1] in "@ +-" for line in lines)
    added = changes.changes[0].lines()
    assert added == ["+{", '+  "payload": "GET_STARTED"', "+}"]


def test_prune_removes_what_the_file_leaves_out() -> None:
    current = {"get_started": GET_STARTED, "account_linking_url": "https://x.example/l"}
    changes = diff({"get_started": GET_STARTED}, current, prune=True)
    assert changes.changes == (
        Change("account_linking_url", "removed", before="https://x.example/l"),
    )
    assert changes.unmanaged == ()
    assert Change("greeting", "removed", before=GREETING).lines()[0] == "-["


def test_get_started_is_set_before_the_menu() -> None:
    wanted = {
        "get_started": GET_STARTED,
        "greeting": GREETING,
        "persistent_menu": menu(),
        "whitelisted_domains": DOMAINS,
    }
    steps = plan(diff(wanted, {}))
    assert [step.describe() for step in steps] == [
        "set get_started, greeting, whitelisted_domains",
        "set persistent_menu",
    ]
    assert steps[0].values == {
        "get_started": GET_STARTED,
        "greeting": GREETING,
        "whitelisted_domains": DOMAINS,
    }
    assert steps[1].values == {"persistent_menu": menu()}


def test_only_what_differs_is_sent() -> None:
    wanted = {"get_started": GET_STARTED, "persistent_menu": menu("Likes")}
    current = {"get_started": GET_STARTED, "persistent_menu": menu("My likes")}
    assert plan(diff(wanted, current)) == [
        Step("set", ("persistent_menu",), {"persistent_menu": menu("Likes")})
    ]


def test_the_menu_is_deleted_before_get_started() -> None:
    current = {
        "persistent_menu": menu(),
        "greeting": GREETING,
        "get_started": GET_STARTED,
        "whitelisted_domains": DOMAINS,
    }
    steps = reset_plan(current)
    assert steps == [
        Step("delete", ("persistent_menu",)),
        Step("delete", ("get_started", "greeting", "whitelisted_domains")),
    ]
    assert reset_plan({}) == []


def test_prune_and_set_together_delete_first() -> None:
    wanted = {"greeting": GREETING}
    current = {"get_started": GET_STARTED, "persistent_menu": menu()}
    assert [step.describe() for step in plan(diff(wanted, current, prune=True))] == [
        "delete persistent_menu",
        "delete get_started",
        "set greeting",
    ]


def test_normalize_sorts_locales_and_drops_nulls() -> None:
    greeting = [{"locale": "fr_FR", "text": "Salut"}, {"locale": "default", "text": None}]
    assert normalize("greeting", greeting) == [
        {"locale": "default"},
        {"locale": "fr_FR", "text": "Salut"},
    ]
    legacy = [{"question": "B", "payload": "B"}, {"question": "A", "payload": "A"}]
    assert normalize("ice_breakers", legacy) == legacy  # the flat format keeps its order

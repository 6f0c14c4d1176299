"""Shapes of outside input: any JSON, and JSON that looks like a Messenger delivery."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Text as Facebook could send it, lone surrogates and NUL included ("\ud800" is valid JSON).
text = st.text(st.characters(codec=None), max_size=40)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)
ids = st.one_of(st.from_regex(r"\A[0-9]{1,20}\Z"), st.integers(), text, st.none(), st.booleans())
KINDS = ("message", "postback", "account_linking", "referral", "delivery", "read", "optin",
         "reaction", "message_edit", "policy_enforcement", "app_roles", "unknown_kind")  # fmt: skip


@st.composite
def messaging_events(draw: st.DrawFn) -> Any:
    event: dict[str, Any] = {}
    if draw(st.booleans()):
        event["sender"] = draw(st.fixed_dictionaries({"id": ids}) | json_values)
    if draw(st.booleans()):
        event["recipient"] = draw(st.fixed_dictionaries({"id": ids}) | json_values)
    if draw(st.booleans()):
        event["timestamp"] = draw(st.integers() | json_values)
    kind = draw(st.sampled_from(KINDS))
    body = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "mid": ids,
                "text": text,
                "is_echo": st.booleans() | json_values,
                "payload": json_values,
                "status": st.sampled_from(["linked", "unlinked"]) | text,
                "attachments": json_values,
                "quick_reply": json_values,
            },
        )
        | json_values
    )
    event[kind] = body
    event.update(draw(st.dictionaries(text, json_values, max_size=2)))
    return draw(st.just(event) | json_values) if draw(st.integers(0, 9)) == 0 else event


@st.composite
def deliveries(draw: st.DrawFn) -> Any:
    """Mostly {"object": "page", "entry": [...]}, sometimes bent out of shape."""
    entries = draw(
        st.lists(
            st.fixed_dictionaries(
                {"id": ids, "time": st.integers() | json_values},
                optional={
                    "messaging": st.lists(messaging_events(), max_size=3) | json_values,
                    "standby": st.lists(messaging_events(), max_size=2) | json_values,
                },
            )
            | json_values,
            max_size=3,
        )
    )
    body: dict[str, Any] = {"object": draw(st.just("page") | text), "entry": entries}
    if draw(st.integers(0, 9)) == 0:
        body.update(draw(st.dictionaries(text, json_values, max_size=2)))
    return body

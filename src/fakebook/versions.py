"""Graph API version labels (`v25.0`) and the rule for versions older than the minimum."""

from __future__ import annotations

import re

from fakebook.errors import GraphError

_VERSION = re.compile(r"^v(\d{1,3})\.(\d{1,2})$")


def parse_version(label: str) -> tuple[int, int] | None:
    match = _VERSION.match(label)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def resolve_version(label: str, minimum: str, policy: str) -> str:
    """The version a call is served at, or a GraphError the way Facebook refuses it.

    Facebook auto-upgrades calls to expired versions (contract §0); "reject" is there so a
    client pinned to a dead version fails loudly in tests instead of silently drifting.
    """
    parsed = parse_version(label)
    if parsed is None:
        raise GraphError(
            f"Unknown path components: /{label}. Graph API versions look like v25.0.",
            code=2500,
        )
    floor = parse_version(minimum)
    assert floor is not None
    if parsed >= floor:
        return label
    if policy == "upgrade":
        return minimum
    raise GraphError(
        f"(#12) Graph API {label} is no longer available. Use {minimum} or later.",
        code=12,
    )

"""Graph version labels (fakebook.versions)."""

from __future__ import annotations

import pytest

from fakebook.errors import GraphError
from fakebook.versions import parse_version, resolve_version


def test_parse() -> None:
    assert parse_version("v25.0") == (25, 0)
    assert parse_version("v9.10") == (9, 10)
    assert parse_version("25.0") is None
    assert parse_version("v25") is None


def test_resolve_compares_numerically() -> None:
    assert resolve_version("v100.0", "v21.0", "reject") == "v100.0"
    assert resolve_version("v21.0", "v21.0", "reject") == "v21.0"
    with pytest.raises(GraphError) as caught:
        resolve_version("v3.0", "v21.0", "reject")
    assert caught.value.code == 12
    assert resolve_version("v3.0", "v21.0", "upgrade") == "v21.0"


def test_bad_label_is_2500_even_when_upgrading() -> None:
    with pytest.raises(GraphError) as caught:
        resolve_version("latest", "v21.0", "upgrade")
    assert caught.value.code == 2500
    assert caught.value.http_status == 400

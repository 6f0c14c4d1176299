"""``botperms pages add|list|remove`` as real processes against a running fakebook: the token
is checked with /me, the app subscribed and unsubscribed, the token encrypted at rest."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from botperms.graph.pages import WEBHOOK_FIELDS
from tests.e2e.pages_stack import FIRST, SECOND, THIRD, Botperms, Fakebook, start_fakebook
from tests.e2e.servers import free_port


@pytest.fixture
def fakebook() -> Iterator[Fakebook]:
    yield from start_fakebook(free_port())


@pytest.fixture
def project(tmp_path: Path, fakebook: Fakebook) -> Botperms:
    return Botperms(tmp_path, fakebook)


def subscriptions(fakebook: Fakebook) -> dict[str, list[str] | None]:
    return {page["id"]: page["subscribed_fields"] for page in fakebook.get("pages")}


def test_add_list_remove(project: Botperms, fakebook: Fakebook) -> None:
    # The token comes on stdin (as from a pipe), so it is in no shell history.
    added = project.run("pages", "add", stdin=SECOND[2] + "\n")
    assert added.returncode == 0, added.stderr
    assert f"Added page {SECOND[1]} ({SECOND[0]})" in added.stdout
    assert subscriptions(fakebook)[SECOND[0]] == list(WEBHOOK_FIELDS)
    assert project.run("pages", "add", "--page-token", THIRD[2]).returncode == 0

    listed = project.run("pages", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(row["page_id"], row["name"], row["source"]) for row in rows] == [
        (FIRST[0], None, "BOTPERMS_PAGE_ID"),
        (SECOND[0], SECOND[1], "pages table"),
        (THIRD[0], THIRD[1], "pages table"),
    ]
    assert SECOND[2] not in listed.stdout
    table = project.run("pages", "list")
    assert "Pages (3)" in table.stdout
    assert SECOND[1] in table.stdout
    # Encrypted at rest: the token is nowhere in the database file's rows.
    with sqlite3.connect(project.tmp_path / "botperms.db") as db:
        stored = db.execute("SELECT token_ciphertext FROM pages").fetchall()
    assert len(stored) == 2
    assert all(SECOND[2] not in row[0] and THIRD[2] not in row[0] for row in stored)

    removed = project.run("pages", "remove", SECOND[0])
    assert removed.returncode == 0, removed.stderr
    assert f"Removed page {SECOND[0]}." in removed.stdout
    assert subscriptions(fakebook)[SECOND[0]] is None
    assert subscriptions(fakebook)[THIRD[0]] == list(WEBHOOK_FIELDS)
    after = json.loads(project.run("pages", "list", "--json").stdout)
    assert [row["page_id"] for row in after] == [FIRST[0], THIRD[0]]


def test_a_bad_token_is_one_readable_line_and_nothing_is_stored(
    project: Botperms, fakebook: Fakebook
) -> None:
    refused = project.run("pages", "add", "--page-token", "EAAnotarealpagetoken000")
    assert refused.returncode == 3
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert "page token is not valid (code 190)" in lines[0]
    assert "EAAnotarealpagetoken000" not in refused.stderr
    assert json.loads(project.run("pages", "list", "--json").stdout)[1:] == []
    empty = project.run("pages", "add", stdin="\n")
    assert empty.returncode != 0
    assert subscriptions(fakebook) == {FIRST[0]: None, SECOND[0]: None, THIRD[0]: None}


def test_removing_an_unknown_page_says_so(project: Botperms) -> None:
    unknown = project.run("pages", "remove", "123")
    assert unknown.returncode == 1
    assert "No stored page 123." in unknown.stderr
    shortcut = project.run("pages", "remove", FIRST[0])
    assert shortcut.returncode == 1
    assert "BOTPERMS_PAGE_ID" in shortcut.stderr

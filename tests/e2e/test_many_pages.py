"""Two pages at once, as real processes: ``botperms serve`` answers the settings' page and a
page added with ``botperms pages add`` (while it runs), each person by the right page with that
page's token, and leaves a page it does not know unanswered."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pages_stack import FIRST, SECOND, THIRD, Botperms, Fakebook, start_fakebook
from tests.e2e.servers import free_port

PEOPLE = ("5810000000000001", "5810000000000002", "5810000000000003")


@pytest.fixture
def bot_port() -> int:
    return free_port()


@pytest.fixture
def fakebook(bot_port: int) -> Iterator[Fakebook]:
    yield from start_fakebook(bot_port)


@pytest.fixture
def project(tmp_path: Path, fakebook: Fakebook, bot_port: int) -> Iterator[Botperms]:
    project = Botperms(tmp_path, fakebook, port=bot_port)
    process = project.serve("tests.e2e.pages_bot:bot")
    yield project
    process.terminate()
    process.wait(timeout=30)


def replies(fakebook: Fakebook, page_id: str, psid: str) -> list[str]:
    sent: list[dict[str, Any]] = fakebook.get("sent", page=page_id, psid=psid)
    return [call["message"]["text"] for call in sent if call.get("message")]


def wait_for(check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_each_person_is_answered_by_the_page_they_wrote_to(
    project: Botperms, fakebook: Fakebook
) -> None:
    # Added while `serve` runs: the running process picks it up without a restart.
    added = project.run("pages", "add", stdin=SECOND[2])
    assert added.returncode == 0, added.stderr
    first_name = {p["psid"]: p["first_name"] for p in fakebook.get("people")}
    for psid in PEOPLE:
        for page_id, name, _ in (FIRST, SECOND):
            fakebook.say(psid, f"hello {name}", page_id)
        fakebook.say(psid, "anyone?", THIRD[0])  # a page of the app the bot was not given

    def all_answered() -> bool:
        return all(
            replies(fakebook, page_id, psid) for psid in PEOPLE for page_id in (FIRST[0], SECOND[0])
        )

    wait_for(all_answered)
    for psid in PEOPLE:
        for page_id, name, _ in (FIRST, SECOND):
            # fakebook files a send under the page whose token made it: the right token.
            assert replies(fakebook, page_id, psid) == [
                f"{name} to {first_name[psid]}: hello {name}"
            ]

    # The other page's event is stored and handled (done, its effects committed with it),
    # and nothing was sent for it: no later send can come from it.
    def foreign_handled() -> bool:
        listed = project.run("inbox", "list", "--page", THIRD[0], "--json")
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        return len(rows) == len(PEOPLE) and all(row["status"] == "done" for row in rows)

    wait_for(foreign_handled)
    assert replies(fakebook, THIRD[0], PEOPLE[0]) == []
    assert fakebook.get("sent", page=THIRD[0]) == []

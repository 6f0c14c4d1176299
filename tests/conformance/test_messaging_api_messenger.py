"""messaging-api-messenger 1.1.0 (npm, Node.js) against fakebook, one Node process a scenario.

The package is pinned in tests/conformance/package.json and package-lock.json; `make test`
(and so CI) installs it with `npm ci`. Without Node.js or the package these tests fail, never
skip: a conformance run that silently drops a client proves nothing.

The client needed no work-around: `origin` points it at fakebook, and it signs every call with
`appsecret_proof`. It camel-cases what it returns (`recipientId`, `errorSubcode`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import ALICE_PSID, APP_SECRET, PAGE_TOKEN, Live

HERE = Path(__file__).parent
SCRIPT = HERE / "messaging_api_messenger.js"


def run(fakebook: Live, scenario: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed for the messaging-api-messenger conformance tests")
    if not (HERE / "node_modules" / "messaging-api-messenger").is_dir():
        pytest.fail("run `npm ci --prefix tests/conformance` (make test does it)")
    env = {**os.environ, "FAKEBOOK_URL": fakebook.url, "PAGE_TOKEN": PAGE_TOKEN,
           "APP_SECRET": APP_SECRET, "PSID": ALICE_PSID}  # fmt: skip
    done = subprocess.run(
        [node, str(SCRIPT), scenario],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


@pytest.fixture
def window(fakebook: Live) -> Live:
    fakebook.person_says()
    return fakebook


def test_text(window: Live) -> None:
    answer = run(window, "text")
    assert answer["ok"], answer
    assert answer["result"]["recipientId"] == ALICE_PSID
    sent = window.sent()[-1]
    assert sent["message_id"] == answer["result"]["messageId"]
    assert sent["messaging_type"] == "UPDATE"  # the client's default
    assert sent["message"] == {"text": "Hello from messaging-api-messenger"}


def test_button_template(window: Live) -> None:
    answer = run(window, "button_template")
    assert answer["ok"], answer
    buttons = window.sent()[-1]["message"]["attachment"]["payload"]["buttons"]
    assert buttons[0]["webview_height_ratio"] == "tall"
    assert buttons[1] == {"type": "postback", "title": "Later", "payload": "LATER"}


def test_quick_replies(window: Live) -> None:
    answer = run(window, "quick_replies")
    assert answer["ok"], answer
    assert window.sent()[-1]["message"]["quick_replies"] == [
        {"content_type": "text", "title": "Red", "payload": "PICK_RED"},
        {"content_type": "user_email"},
    ]


def test_sender_actions(window: Live) -> None:
    answer = run(window, "sender_actions")
    assert answer["ok"], answer
    assert answer["result"] == [{"recipientId": ALICE_PSID}] * 3
    assert [c["sender_action"] for c in window.sent()] == ["mark_seen", "typing_on", "typing_off"]


def test_messenger_profile(fakebook: Live) -> None:
    answer = run(fakebook, "messenger_profile")
    assert answer["ok"], answer
    stored = answer["result"]["stored"][0]
    assert stored["getStarted"] == {"payload": "GET_STARTED"}
    assert stored["persistentMenu"][0]["callToActions"][0]["payload"] == "LIKES"
    assert answer["result"]["left"] == [{"getStarted": {"payload": "GET_STARTED"}}]
    assert "persistent_menu" not in fakebook.profile("persistent_menu")


def test_user_persistent_menu(fakebook: Live) -> None:
    answer = run(fakebook, "user_menu")
    assert answer["ok"], answer
    mine = answer["result"]["mine"]
    assert mine[0]["callToActions"] == [
        {"type": "postback", "title": "Only you", "payload": "MINE"}
    ]
    assert answer["result"]["after"] is None


def test_user_profile_open_and_gated_fields(fakebook: Live) -> None:
    answer = run(fakebook, "user_profile")
    assert answer["ok"], answer
    assert answer["result"]["firstName"] == "Alice"
    gated = run(fakebook, "user_profile_gated")
    assert gated["ok"] is False
    assert gated["status"] == 400
    assert gated["error"]["errorSubcode"] == 2018247

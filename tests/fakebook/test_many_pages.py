"""fakebook with several pages: each page token is its own page for /me, the Send API,
subscribed_apps, webhooks (entry.id), threads and the chat simulator."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fakebook import FakebookConfig
from fakebook.cli import _with_pages
from fakebook.cli import app as fakebook_cli
from fakebook.config import load_config
from tests.fakebook.fbtesting import (
    ALICE_PSID,
    FB,
    PAGE_ID,
    PAGE_TOKEN,
    Receiver,
    make_config,
    proof,
)

SECOND_ID = "777666555444333"
SECOND_TOKEN = "EAAsecondpagetoken"


@pytest.fixture
def config() -> FakebookConfig:
    return make_config(
        extra_pages=[{"id": SECOND_ID, "name": "Second Page", "token": SECOND_TOKEN}]
    )


async def test_me_with_a_page_token_is_that_page(fb: FB) -> None:
    first = (await fb.graph("GET", "me", fields="id,name")).json()
    second = (await fb.graph("GET", "me", token=SECOND_TOKEN, fields="id,name")).json()
    assert first == {"id": PAGE_ID, "name": "Test Page"}
    assert second == {"id": SECOND_ID, "name": "Second Page"}
    wrong = (await fb.graph("GET", "me", token="EAAnotapagetoken", fields="id,name")).json()
    assert wrong["error"]["code"] == 190


async def test_subscribed_apps_per_page_and_only_with_its_own_token(fb: FB) -> None:
    answer = await fb.graph(
        "POST", f"{SECOND_ID}/subscribed_apps", token=SECOND_TOKEN, subscribed_fields="messages"
    )
    assert answer.json() == {"success": True}
    # The first page's token cannot reach the second page.
    foreign = await fb.graph(
        "POST", f"{SECOND_ID}/subscribed_apps", token=PAGE_TOKEN, subscribed_fields="messages"
    )
    assert foreign.json()["error"]["code"] == 100
    assert foreign.json()["error"]["error_subcode"] == 33
    assert (await fb.graph("GET", f"{PAGE_ID}/subscribed_apps")).json() == {"data": []}
    listed = (await fb.graph("GET", "me/subscribed_apps", token=SECOND_TOKEN)).json()["data"]
    assert listed[0]["subscribed_fields"] == ["messages"]
    pages = (await fb.client.get("/_fakebook/pages")).json()
    assert [(p["id"], p["subscribed_fields"]) for p in pages] == [
        (PAGE_ID, None),
        (SECOND_ID, ["messages"]),
    ]
    control = (await fb.client.get("/_fakebook/subscription", params={"page": SECOND_ID})).json()
    assert control["subscribed"] is True
    await fb.graph("DELETE", f"{SECOND_ID}/subscribed_apps", token=SECOND_TOKEN)
    assert (await fb.client.get("/_fakebook/pages")).json()[1]["subscribed_fields"] is None


async def test_webhooks_carry_the_page_and_threads_are_per_page(fb: FB, receiver: Receiver) -> None:
    await fb.client.post(
        f"/_fakebook/chat/{ALICE_PSID}/message",
        params={"wait": "true", "page": SECOND_ID},
        json={"text": "hi second"},
    )
    await fb.say(ALICE_PSID, "hi first")
    bodies = [json.loads(body) for body in receiver.bodies]
    assert [b["entry"][0]["id"] for b in bodies] == [SECOND_ID, PAGE_ID]
    assert bodies[0]["entry"][0]["messaging"][0]["recipient"] == {"id": SECOND_ID}
    # Each page answers in its own thread, and the log says which page sent.
    body = {"recipient": {"id": ALICE_PSID}, "messaging_type": "RESPONSE"}
    await fb.send({**body, "message": {"text": "from second"}}, token=SECOND_TOKEN)
    await fb.send({**body, "message": {"text": "from first"}})
    second = (
        await fb.client.get(f"/_fakebook/conversations/{ALICE_PSID}", params={"page": SECOND_ID})
    ).json()
    first = (await fb.client.get(f"/_fakebook/conversations/{ALICE_PSID}")).json()
    assert [e.get("text") or e["message"]["text"] for e in second] == ["hi second", "from second"]
    assert [e.get("text") or e["message"]["text"] for e in first] == ["hi first", "from first"]
    sent = (await fb.client.get("/_fakebook/sent", params={"page": SECOND_ID})).json()
    assert [call["message"]["text"] for call in sent] == ["from second"]
    # /{page-id}/messages with another page's token is refused.
    other = await fb.client.post(
        f"/v25.0/{PAGE_ID}/messages",
        params={"access_token": SECOND_TOKEN, "appsecret_proof": proof(SECOND_TOKEN)},
        json={**body, "message": {"text": "x"}},
    )
    assert other.json()["error"]["code"] == 100


async def test_the_simulator_picks_the_page(fb: FB) -> None:
    page = await fb.client.get("/chat", params={"page": SECOND_ID})
    assert 'id="page-select"' in page.text
    assert f'data-page-id="{SECOND_ID}"' in page.text
    assert "Second Page" in page.text
    redirect = await fb.client.get(f"/m.me/{SECOND_ID}", params={"ref": "x"})
    assert redirect.headers["location"].endswith(f"/chat?page={SECOND_ID}&ref=x")
    state = (
        await fb.client.get(f"/_fakebook/chat/{ALICE_PSID}", params={"page": SECOND_ID})
    ).json()
    assert state["page"] == {"id": SECOND_ID, "name": "Second Page"}
    unknown = await fb.client.get(f"/_fakebook/chat/{ALICE_PSID}", params={"page": "1"})
    assert unknown.status_code == 404


def test_pages_from_the_env_file_and_command_line() -> None:
    env = {"FAKEBOOK_EXTRA_PAGES": json.dumps([{"id": "5", "name": "Five", "token": "EAAfive5"}])}
    loaded = load_config(env=env)
    assert [page.id for page in loaded.pages] == [loaded.page_id, "5"]
    assert loaded.page_of_token("EAAfive5") is not None
    extended = _with_pages(loaded, ["6,Six,EAAsix666"])
    assert [page.name for page in extended.pages][1:] == ["Five", "Six"]
    with pytest.raises(ValueError, match="ID,NAME,TOKEN"):
        _with_pages(loaded, ["6,Six"])
    with pytest.raises(ValueError, match="distinct"):
        _with_pages(loaded, ["5,Again,EAAagain5"])


def test_serve_refuses_a_bad_extra_page() -> None:
    result = CliRunner().invoke(fakebook_cli, ["serve", "--extra-page", "nope", "--port", "0"])
    assert result.exit_code == 2
    assert "ID,NAME,TOKEN" in result.output

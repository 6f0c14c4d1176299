"""Simulator pages: index, chat, m.me, avatars, closeWindow (fakebook.simulator)."""

from __future__ import annotations

import httpx

from tests.fakebook.fbtesting import ALICE_PSID, BOB_PSID, FB, PAGE_ID


async def test_index_links_people(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert f'href="/chat?person={ALICE_PSID}"' in page.text
    assert "/m.me/testpage" in page.text


async def test_chat_page_has_controls_and_ua_hint(client: httpx.AsyncClient) -> None:
    page = await client.get("/chat", params={"person": BOB_PSID, "view": "phone"})
    assert page.status_code == 200
    for marker in (
        'id="message-input"',
        'id="webview-frame"',
        'id="webview-close"',
        'id="view-phone"',
        'id="delivery-status"',
        'data-view="phone"',
        f'data-psid="{BOB_PSID}"',
        "User-Agent",
        'name="viewport"',
    ):
        assert marker in page.text
    assert page.cookies.get("fakebook_person") == BOB_PSID
    script = await client.get("/_fakebook/static/chat.js")
    assert script.status_code == 200
    assert 'window.open(url, "_blank")' in script.text


async def test_chat_remembers_person_and_falls_back(client: httpx.AsyncClient) -> None:
    client.cookies.set("fakebook_person", BOB_PSID)
    page = await client.get("/chat")
    assert f'data-psid="{BOB_PSID}"' in page.text
    client.cookies.clear()
    page = await client.get("/chat", params={"person": "nobody"})
    assert f'data-psid="{ALICE_PSID}"' in page.text


async def test_m_me_links(fb: FB) -> None:
    for page in ("testpage", PAGE_ID):
        answer = await fb.client.get(f"/m.me/{page}", params={"ref": "abc"})
        assert answer.status_code == 302
        assert answer.headers["location"].endswith("/chat?ref=abc")
    assert (await fb.client.get("/m.me/someoneelse")).status_code == 404


async def test_ref_only_passed_on_for_existing_threads(fb: FB) -> None:
    page = await fb.client.get("/chat", params={"person": ALICE_PSID, "ref": "r1"})
    assert 'data-ref=""' in page.text
    await fb.say()
    page = await fb.client.get("/chat", params={"person": ALICE_PSID, "ref": "r1"})
    assert 'data-ref="r1"' in page.text


async def test_avatars_and_close_window(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/avatar/{PAGE_ID}.svg")).status_code == 200
    assert (await client.get("/avatar/123.svg")).status_code == 404
    page = await client.get("/closeWindow/", params={"display_text": "All done <b>"})
    assert "All done &lt;b&gt;" in page.text
    assert "mx-close" in page.text

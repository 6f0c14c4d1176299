"""Pages (encrypted page tokens), their Send API pauses and the PageDirectory, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from botperms.store import Database, PageDirectory, Store, TokenCipher, new_key
from botperms.store.models import Page

TOKEN_A = "EAAPageTokenOfPageAlpha0123456789"
TOKEN_B = "EAAPageTokenOfPageBravo0123456789"
FIELDS = ("messages", "messaging_postbacks")


async def test_add_get_list_remove(store: Store) -> None:
    added = await store.page_save("111", "Alpha", TOKEN_A, FIELDS)
    await store.page_save("222", "Bravo", TOKEN_B, ["messages"])
    assert added.access_token == TOKEN_A
    assert added.subscribed_fields == FIELDS
    assert TOKEN_A not in repr(added)
    found = await store.page_get("111")
    assert found == added
    assert [page.page_id for page in await store.page_list()] == ["111", "222"]
    assert await store.page_tokens() == {"111": TOKEN_A, "222": TOKEN_B}
    assert await store.page_remove("111") is True
    assert await store.page_remove("111") is False
    assert await store.page_get("111") is None
    assert [page.name for page in await store.page_list()] == ["Bravo"]


async def test_adding_again_replaces_name_token_and_fields_but_keeps_created_at(
    store: Store,
) -> None:
    first = await store.page_save("111", "Alpha", TOKEN_A, FIELDS)
    second = await store.page_save("111", "Alpha renamed", TOKEN_B, ["messages"])
    assert second.name == "Alpha renamed"
    assert second.access_token == TOKEN_B
    assert second.subscribed_fields == ("messages",)
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    assert len(await store.page_list()) == 1
    assert (await store.page_get("111")) == second


async def test_tokens_are_encrypted_at_rest_and_rotate(database: Database) -> None:
    old, new = new_key(), new_key()
    await Store(database, TokenCipher([old])).page_save("111", "Alpha", TOKEN_A, FIELDS)
    async with database.read() as tx:
        stored = await tx.scalar(select(Page.token_ciphertext))
    assert stored is not None
    assert TOKEN_A not in stored
    rotating = Store(database, TokenCipher([new, old]))
    assert await rotating.reencrypt_tokens() == 1
    only_new = Store(database, TokenCipher([new]))
    assert (await only_new.page_get("111")).access_token == TOKEN_A  # type: ignore[union-attr]
    # A page whose key is gone is left out of the hot path's copy instead of failing it.
    await only_new.page_save("222", "Bravo", TOKEN_B, FIELDS)
    assert await Store(database, TokenCipher([new_key(), old])).page_tokens() == {}


async def test_pauses_keep_the_longest_and_end_on_resume(store: Store) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    await store.page_pause("111", until=now + timedelta(seconds=60), strikes=1, reason="613")
    # A second worker hits the limit with a shorter hint: the longer pause stays.
    await store.page_pause("111", until=now + timedelta(seconds=5), strikes=1, reason="4")
    await store.page_pause("222", until=now + timedelta(seconds=2), strikes=1, reason=None)
    await store.page_pause("222", until=now + timedelta(seconds=8), strikes=2, reason="32")
    pauses = {pause.page_id: pause for pause in await store.page_pauses()}
    assert pauses["111"].paused_until == now + timedelta(seconds=60)
    assert pauses["111"].reason == "613"
    assert (pauses["222"].paused_until, pauses["222"].strikes) == (now + timedelta(seconds=8), 2)
    await store.page_resume("111")
    assert [pause.page_id for pause in await store.page_pauses()] == ["222"]
    await store.page_save("222", "Bravo", TOKEN_B, FIELDS)
    await store.page_remove("222")
    assert await store.page_pauses() == []


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_directory_has_the_shortcut_and_the_table_and_reads_on_miss(store: Store) -> None:
    clock = Clock()
    directory = PageDirectory(
        store, shortcut={"999": "EAAShortcut"}, refresh_seconds=30, miss_seconds=5, clock=clock
    )
    await store.page_save("111", "Alpha", TOKEN_A, FIELDS)
    assert directory.known("999")
    assert not directory.known("111")
    assert await directory.token("111") == TOKEN_A
    assert await directory.token("999") == "EAAShortcut"
    assert directory.page_ids() == {"111", "999"}
    # Added after the load: a miss reads again, but not more than once per miss_seconds.
    await store.page_save("222", "Bravo", TOKEN_B, FIELDS)
    assert await directory.token("222") is None
    clock.now += 5
    assert await directory.token("222") == TOKEN_B
    # Removed: forgotten at the next periodic refresh; a stored page beats the shortcut.
    await store.page_remove("111")
    await store.page_save("999", "Shortcut page", TOKEN_B, FIELDS)
    assert directory.known("111")
    clock.now += 30
    assert await directory.token("111") is None
    assert not directory.known("111")
    assert await directory.token("999") == TOKEN_B


async def test_a_fixed_directory_needs_no_store() -> None:
    directory = PageDirectory.fixed({"1": "EAAOne"})
    assert await directory.token("1") == "EAAOne"
    assert await directory.token("2") is None
    assert not directory.known(None)

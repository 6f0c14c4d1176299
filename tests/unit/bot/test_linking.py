"""The bot side of account linking: `linked` confirms (or is refused), `unlinked` ends the grant,
and the login prompt of the account_link flow."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import select

from botperms import Bot, Context, requires
from botperms.bot.dispatcher import Dispatcher
from botperms.bot.runtime import Runtime
from botperms.store import GrantRecord, Store
from botperms.store.models import Grant, LoginAttempt
from tests.unit.bot.conftest import (
    PAGE_ID,
    PAGE_TOKEN,
    USER_TOKEN,
    FakeGraph,
    LinkMaker,
    buttons,
    commit,
    event,
    grant,
    run_inbox,
    sent,
    template_text,
    text,
    waiting_request_and_login_in_progress,
)

LINK_URL = "https://bot.test/link/start"
CODE = "authorization-code-for-alice"


@pytest.fixture
def runtime(runtime: Runtime) -> Runtime:
    return dataclasses.replace(runtime, login_flow="account_link", link_url=LINK_URL)


async def prompted(store: Store, ctx: Context, *args: Any, **kwargs: Any) -> None:
    """The login prompt as a handler sends it: staged, then committed with the event."""
    await ctx.send_login_prompt(*args, **kwargs)
    await commit(store, ctx)


class Seen:
    def __init__(self, bot: Bot) -> None:
        self.linking: list[tuple[str, GrantRecord | None]] = []
        self.logins: list[tuple[str, ...]] = []

        @bot.on_account_linking
        async def linking(ctx: Context) -> None:
            assert ctx.event is not None
            assert ctx.event.account_linking is not None
            self.linking.append((ctx.event.account_linking.status, ctx.grant))

        @bot.on_login
        async def login(ctx: Context, declined: tuple[str, ...]) -> None:
            self.logins.append(declined)


@pytest.fixture
def seen(bot: Bot) -> Seen:
    return Seen(bot)


async def pending_grant(store: Store, psid: str = "alice", code: str = CODE) -> GrantRecord:
    """What /link/start leaves behind after Facebook Login: a pending grant and its code."""
    record = await store.save_grant(
        page_id=PAGE_ID,
        psid=psid,
        asid=f"asid-{psid}",
        access_token=USER_TOKEN,
        scopes_granted=["public_profile", "user_likes"],
        scopes_declined=["email"],
        expires_at=None,
        data_access_expires_at=None,
        flow="account_link",
        status="pending",
    )
    await store.create_link_code(
        code=code,
        grant_id=record.id,
        page_id=PAGE_ID,
        psid=psid,
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )
    return record


def linked(code: str | None = CODE, psid: str = "alice") -> Any:
    status: dict[str, Any] = {"status": "linked"}
    if code is not None:
        status["authorization_code"] = code
    return event(psid, account_linking=status)


def unlinked(psid: str = "alice") -> Any:
    return event(psid, account_linking={"status": "unlinked"})


async def statuses(store: Store) -> list[tuple[str, str]]:
    async with store.db.session() as session:
        rows = await session.scalars(select(Grant).order_by(Grant.id))
        return [(row.psid, row.status) for row in rows]


# -- linked ----------------------------------------------------------------------------------


async def test_linked_confirms_the_grant_and_runs_the_login_path_once(
    seen: Seen, bot: Bot, dispatcher: Dispatcher, store: Store
) -> None:
    replays: list[bool] = []

    @bot.on_message(text="likes")
    @requires("user_likes")
    async def likes(ctx: Context) -> None:
        replays.append(ctx.replayed)

    await dispatcher.handle(text("likes"))  # waits for the login
    record = await pending_grant(store)
    await dispatcher.handle(linked())
    assert await statuses(store) == [("alice", "active")]
    assert seen.linking == []  # queued in the inbox, handled in order
    await run_inbox(store, dispatcher)
    [(status, active)] = seen.linking
    assert status == "linked"
    assert active is not None
    assert active.id == record.id
    assert seen.logins == [("email",)]
    assert replays == [True]

    # The same webhook again (Messenger redelivers): the code is used up, nothing runs twice.
    await dispatcher.handle(linked())
    await run_inbox(store, dispatcher)
    assert (len(seen.linking), len(seen.logins), replays) == (1, 1, [True])


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda: linked("never-issued"), "unknown", id="unknown"),
        pytest.param(lambda: linked(CODE, psid="mallory"), "mismatch", id="someone-elses"),
        pytest.param(lambda: linked(None), "no_code", id="no-code"),
    ],
)
async def test_a_refused_code_is_logged_and_confirms_nothing(
    seen: Seen, dispatcher: Dispatcher, store: Store, make: Any, reason: str
) -> None:
    await pending_grant(store)
    with structlog.testing.capture_logs() as logs:
        await dispatcher.handle(make())
    refused = [entry for entry in logs if entry["event"] == "account_linking.refused"]
    assert [entry["reason"] for entry in refused] == [reason]
    assert CODE not in str(logs)  # a code is a credential: never in a log line
    await run_inbox(store, dispatcher)
    assert await statuses(store) == [("alice", "pending")]
    assert seen.linking == []
    assert seen.logins == []
    assert await sent(store) == []
    assert await sent(store, "mallory") == []


async def test_a_code_used_once_is_refused_the_second_time(
    dispatcher: Dispatcher, store: Store
) -> None:
    await pending_grant(store)
    await dispatcher.handle(linked())
    with structlog.testing.capture_logs() as logs:
        await dispatcher.handle(linked())
    assert [e["reason"] for e in logs if e["event"] == "account_linking.refused"] == ["used"]


# -- unlinked --------------------------------------------------------------------------------


async def test_unlinked_revokes_cancels_logins_drops_the_request_and_says_goodbye(
    seen: Seen, bot: Bot, dispatcher: Dispatcher, store: Store
) -> None:
    await grant(store)
    await waiting_request_and_login_in_progress(store)
    await dispatcher.handle(unlinked())
    assert await statuses(store) == [("alice", "revoked")]
    assert await store.pending_intent(PAGE_ID, "alice", now=datetime.now(UTC)) is None
    async with store.db.session() as session:
        attempt = await session.scalar(select(LoginAttempt))
        assert attempt is not None
        assert attempt.outcome == "cancelled:unlinked"
    assert await sent(store) == [{"text": bot.prompts.unlinked}]
    assert seen.linking == [("unlinked", None)]


async def test_unlinked_without_a_grant_says_nothing(
    seen: Seen, dispatcher: Dispatcher, store: Store
) -> None:
    await dispatcher.handle(unlinked())
    assert await sent(store) == []
    assert seen.linking == [("unlinked", None)]


async def test_an_unknown_status_is_ignored(
    seen: Seen, dispatcher: Dispatcher, store: Store
) -> None:
    await grant(store)
    await dispatcher.handle(event(account_linking={"status": "paused"}))
    assert await statuses(store) == [("alice", "active")]
    assert seen.linking == []


# -- the prompt in the account_link flow -----------------------------------------------------


async def test_the_prompt_offers_account_linking_and_a_browser_login(
    runtime: Runtime, store: Store, links: LinkMaker
) -> None:
    await prompted(
        store,
        Context(runtime, PAGE_ID, "alice", text("hi"), None),
        "Link your account",
        scopes=["user_likes", "email"],
    )
    [prompt] = await sent(store)
    assert template_text(prompt) == "Link your account"
    link, browser = buttons(prompt)
    assert link == {
        "type": "account_link",
        "url": f"{LINK_URL}?scope=user_likes%2Cemail",
    }
    assert browser["type"] == "web_url"
    assert browser["title"] == "Log in on a computer"
    assert browser["url"] == "https://bot.test/auth/start?ticket=t1"
    assert links.calls[0]["scopes"] == ("user_likes", "email")


async def test_a_linked_person_or_a_re_ask_gets_the_browser_login_only(
    runtime: Runtime, store: Store
) -> None:
    record = await grant(store, granted=("public_profile",), declined=("user_likes",))
    await prompted(store, Context(runtime, PAGE_ID, "alice", None, record), scopes=["user_posts"])
    await prompted(store, Context(runtime, PAGE_ID, "alice", None, None), auth_type="rerequest")
    for message in await sent(store):
        assert [b["type"] for b in buttons(message)] == ["web_url"]


async def test_the_link_url_keeps_its_own_query(runtime: Runtime, store: Store) -> None:
    runtime = dataclasses.replace(runtime, link_url="https://bot.test/link/start?page=1")
    await prompted(store, Context(runtime, PAGE_ID, "alice", None, None), scopes=["user_likes"])
    [prompt] = await sent(store)
    assert buttons(prompt)[0]["url"] == "https://bot.test/link/start?page=1&scope=user_likes"


async def test_the_account_link_flow_needs_a_link_url(runtime: Runtime, store: Store) -> None:
    runtime = dataclasses.replace(runtime, link_url="")
    with pytest.raises(ValueError, match="link_url"):
        await prompted(store, Context(runtime, PAGE_ID, "alice", None, None))
    assert await sent(store) == []


# -- unlink ----------------------------------------------------------------------------------


async def test_unlink_revokes_and_unlinks_on_messenger(
    runtime: Runtime, store: Store, facebook: FakeGraph
) -> None:
    facebook.routes[("POST", "/me/unlink_accounts")] = httpx.Response(
        200, json={"result": "unlink account success"}
    )
    facebook.routes[("DELETE", "/me/permissions")] = httpx.Response(200, json={"success": True})
    record = await grant(store)
    ctx = Context(runtime, PAGE_ID, "alice", None, record)
    assert await ctx.unlink(on_facebook=False) is True
    assert ctx.grant is None
    assert await statuses(store) == [("alice", "active")]  # until the event commits
    await commit(store, ctx)
    assert await statuses(store) == [("alice", "revoked")]
    [call] = facebook.calls("POST", "/me/unlink_accounts")
    assert call.url.params["access_token"] == PAGE_TOKEN
    assert b'"psid":"alice"' in call.content.replace(b" ", b"")
    assert facebook.calls("DELETE", "/me/permissions") == []

    # Nothing left to revoke, and Messenger says there is no link: still fine.
    facebook.routes[("POST", "/me/unlink_accounts")] = httpx.Response(
        400, json={"error": {"message": "not linked", "type": "OAuthException", "code": 100}}
    )
    assert await ctx.unlink() is False

"""``botperms outbox`` and ``botperms inbox`` over a real SQLite store, through the real CLI."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from botperms.cli.main import app
from botperms.store import Database, NewInboxItem, SendOutcome, Store, TokenCipher

runner = CliRunner()
KEY = Fernet.generate_key().decode()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    env = {
        "APP_ID": "123", "APP_SECRET": "s", "VERIFY_TOKEN": "v", "PAGE_ID": "456",
        "PAGE_TOKEN": "EAAx", "PUBLIC_URL": "https://bot.example.com", "TOKEN_KEYS": KEY,
        "DATABASE_URL": url,
    }  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(f"BOTPERMS_{key}", value)
    monkeypatch.chdir(tmp_path)
    return url


def seed(url: str) -> dict[str, int]:
    """Alice wrote a minute ago, Bob two days ago; one dead letter each, one sent message."""

    async def run() -> dict[str, int]:
        db = Database(url)
        await db.migrate()
        store = Store(db, TokenCipher([KEY]))
        now = int(time.time() * 1000)
        await store.inbox_add(
            [
                NewInboxItem("a", "456", "alice", "message", {}, now - 60_000),
                NewInboxItem("b", "456", "bob", "message", {}, now - 2 * 86_400_000),
            ]
        )
        ids = {
            "alice": await store.outbox_add("456", "alice", {"text": "your likes"}),
            "bob": await store.outbox_add("456", "bob", {"text": "hello again"}),
            "sent": await store.outbox_add("456", "carol", {"text": "done"}),
        }
        await store.outbox_claim(datetime.now(UTC) + timedelta(seconds=1), 10)
        await store.outbox_finish(
            [
                SendOutcome(ids["alice"], "dead", error="(#190) page token expired"),
                SendOutcome(ids["bob"], "dead", error="(#190) page token expired"),
                SendOutcome(ids["sent"], "sent", message_id="m.1"),
            ]
        )
        await db.dispose()
        return ids

    return asyncio.run(run())


def test_outbox_list_filters_and_prints_json(database: str) -> None:
    ids = seed(database)
    result = runner.invoke(app, ["outbox", "list", "--status", "dead", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["id"] for row in rows] == [ids["alice"], ids["bob"]]
    assert rows[0]["last_error"] == "(#190) page token expired"
    table = runner.invoke(app, ["outbox", "list", "--psid", "carol"])
    assert "done" in table.output
    assert "your likes" not in table.output


def test_retry_respects_the_24_hour_window(database: str) -> None:
    ids = seed(database)
    result = runner.invoke(app, ["outbox", "retry", "--all-dead"])
    assert result.exit_code == 1  # not all could be requeued
    assert f"{ids['alice']}: requeued" in result.output
    assert f"{ids['bob']}: outside the 24-hour window" in result.output
    rows = json.loads(runner.invoke(app, ["outbox", "list", "--json"]).stdout)
    status = {row["id"]: row["status"] for row in rows}
    assert status == {ids["alice"]: "pending", ids["bob"]: "dead", ids["sent"]: "sent"}
    again = runner.invoke(app, ["outbox", "retry", str(ids["sent"]), "999"])
    assert f"{ids['sent']}: not a dead letter (sent)" in again.output
    assert "999: unknown id" in again.output


def test_drop_forgets_dead_letters_but_not_sent_messages(database: str) -> None:
    ids = seed(database)
    result = runner.invoke(app, ["outbox", "drop", str(ids["bob"]), str(ids["sent"])])
    assert result.exit_code == 0
    assert "1 of 2 dropped" in result.output
    rows = json.loads(runner.invoke(app, ["outbox", "list", "--json"]).stdout)
    assert sorted(row["id"] for row in rows) == sorted([ids["alice"], ids["sent"]])


def test_inbox_list_and_retry_without_ids(database: str) -> None:
    seed(database)
    rows = json.loads(runner.invoke(app, ["inbox", "list", "--json"]).stdout)
    assert [row["psid"] for row in rows] == ["alice", "bob"]
    refused = runner.invoke(app, ["outbox", "retry"])
    assert refused.exit_code == 2
    assert "--all-dead" in refused.output

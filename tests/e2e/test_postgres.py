"""The whole login-link flow with PostgreSQL as the store (real connections, a fresh database)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.e2e.conftest import Stack
from tests.e2e.person import DESKTOP_CHROME, Person
from tests.e2e.test_login_flow import likes_lines, prompt_url
from tests.postgres import postgres_server_url

pytestmark = pytest.mark.postgres


async def _admin(server: str, statement: str) -> None:
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    server = make_url(postgres_server_url())
    name = f"botperms_e2e_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server.render_as_string(hide_password=False), f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(
            _admin(
                server.render_as_string(hide_password=False),
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            )
        )


async def test_login_flow_on_postgresql(
    make_stack: Callable[..., Stack], postgres_url: str, client: httpx.AsyncClient
) -> None:
    stack = make_stack(bot_overrides={"database_url": postgres_url})
    person = await Person.pick(stack, client)
    url = await prompt_url(person)
    before = len(await person.received())
    done = await person.open_login(url, user_agent=DESKTOP_CHROME)
    assert done.status_code == 200
    reply = await person.wait_for_reply(before, "the likes after login")
    assert len(likes_lines(reply)) == min(10, person.likes_count)

    engine = create_async_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(text("SELECT psid, status, token_ciphertext FROM grants"))
            ).all()
            inbox = (await connection.execute(text("SELECT status FROM inbox"))).scalars().all()
    finally:
        await engine.dispose()
    assert [(row[0], row[1]) for row in rows] == [(person.psid, "active")]
    assert not rows[0][2].startswith("EAA")  # encrypted at rest
    assert set(inbox) == {"done"}

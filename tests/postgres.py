"""Where the PostgreSQL tests find their server.

BOTPERMS_TEST_POSTGRES_URL wins when set. Otherwise the local default server
(postgres@127.0.0.1:5432, database `test`) is used when it answers a quick probe, so `make test`
runs the PostgreSQL half on any machine that has one. Without either the tests are skipped on a
workstation but FAIL in CI (CI=true), so a misconfigured pipeline cannot go green on SQLite alone.
"""

from __future__ import annotations

import functools
import os
import socket

import pytest

POSTGRES_URL_ENV = "BOTPERMS_TEST_POSTGRES_URL"
LOCAL_HOST, LOCAL_PORT = "127.0.0.1", 5432
LOCAL_URL = f"postgresql+asyncpg://postgres@{LOCAL_HOST}:{LOCAL_PORT}/test"


@functools.cache
def local_server_answers(timeout: float = 0.5) -> bool:
    """One TCP connect per test session: a refused or silent port costs at most `timeout`."""
    try:
        with socket.create_connection((LOCAL_HOST, LOCAL_PORT), timeout=timeout):
            return True
    except OSError:
        return False


def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if url:
        return url
    if local_server_answers():
        return LOCAL_URL
    if os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}:
        pytest.fail(f"{POSTGRES_URL_ENV} is not set and {LOCAL_HOST}:{LOCAL_PORT} does not answer")
    pytest.skip(f"{POSTGRES_URL_ENV} is not set and {LOCAL_HOST}:{LOCAL_PORT} does not answer")

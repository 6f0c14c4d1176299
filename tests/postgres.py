"""Where the PostgreSQL tests find their server: skipped on a workstation without one, but a
failure in CI (CI=true), so a misconfigured pipeline cannot go green on SQLite alone."""

from __future__ import annotations

import os

import pytest

POSTGRES_URL_ENV = "BOTPERMS_TEST_POSTGRES_URL"


def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if url:
        return url
    if os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}:
        pytest.fail(f"{POSTGRES_URL_ENV} is not set; CI must run the PostgreSQL tests")
    pytest.skip(f"{POSTGRES_URL_ENV} is not set")

"""Shared test rules. In CI (CI=true) a skipped test fails the run: nothing may be skipped there."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import structlog


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """Each test starts from structlog's defaults. ``configure()`` binds the logger to the
    ``sys.stderr`` of its moment, which under capsys is a capture stream closed once that test
    ends; a later test logging through it would fail with "I/O operation on closed file"."""
    yield
    structlog.reset_defaults()

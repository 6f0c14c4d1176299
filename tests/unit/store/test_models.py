from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_mock_engine
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

from botperms.store.models import Base, UTCDateTime

POSTGRES = create_mock_engine("postgresql+asyncpg://", lambda *_: None).dialect


def test_datetimes_are_stored_in_utc() -> None:
    column = UTCDateTime()
    plus_two = datetime(2030, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    stored = column.process_bind_param(plus_two, SQLiteDialect_aiosqlite())
    assert stored == datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert stored.tzinfo is UTC
    assert column.process_bind_param(None, SQLiteDialect_aiosqlite()) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        column.process_bind_param(datetime(2030, 1, 1), SQLiteDialect_aiosqlite())


def test_naive_results_from_sqlite_come_back_aware() -> None:
    column = UTCDateTime()
    back = column.process_result_value(datetime(2030, 1, 1, 12), SQLiteDialect_aiosqlite())
    assert back == datetime(2030, 1, 1, 12, tzinfo=UTC)
    plus_two = datetime(2030, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert column.process_result_value(plus_two, POSTGRES) == plus_two
    assert column.process_result_value(None, POSTGRES) is None


def test_one_active_grant_index_is_partial_on_both_backends() -> None:
    index = next(i for i in Base.metadata.tables["grants"].indexes if i.unique)
    assert str(index.dialect_options["sqlite"]["where"]) == "status = 'active'"
    assert str(index.dialect_options["postgresql"]["where"]) == "status = 'active'"

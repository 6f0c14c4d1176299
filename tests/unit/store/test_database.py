from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from botperms.store import Database, StorageUnavailable
from botperms.store.database import MIGRATIONS


async def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "botperms.db"
    db = Database(f"sqlite+aiosqlite:///{target}")
    try:
        assert target.parent.is_dir()
        assert db.dialect == "sqlite"
        await db.migrate()
        assert target.is_file()
    finally:
        await db.dispose()


def test_an_uncreatable_directory_is_storage_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StorageUnavailable, match="directory"):
        Database(f"sqlite+aiosqlite:///{tmp_path}/file/sub/botperms.db")


def test_repr_hides_the_password() -> None:
    db = Database("postgresql+asyncpg://botperms:hunter2@db.example/botperms")
    assert "hunter2" not in repr(db)
    assert db.dialect == "postgresql"


def test_migrations_ship_inside_the_package() -> None:
    package, folder = MIGRATIONS.split(":")
    root = resources.files(package) / folder
    assert (root / "env.py").is_file()
    assert (root / "versions" / "0001_initial.py").is_file()

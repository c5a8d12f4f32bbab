"""Fixtures of the web tests: a migrated store on SQLite (the dashboard reads
through the same store as every other part; the store tests cover PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from central.store import Store


@pytest.fixture
def web_store(tmp_path: Path) -> Iterator[Store]:
    db = Store(f"sqlite:///{tmp_path / 'central.db'}")
    db.upgrade()
    yield db
    db.close()

"""Fixtures of the central tests: a migrated store on SQLite and on PostgreSQL.

PostgreSQL comes from ``DRIFTVAKT_TEST_POSTGRES_URL``; each test gets its own
schema (``search_path``), dropped afterwards, so parallel runs never collide.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from central.store import Store
from tests.central.servers import SmsSink, SmtpSink

PG_URL = os.environ.get("DRIFTVAKT_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'central.db'}"
        return
    if not PG_URL:
        pytest.skip(
            "DRIFTVAKT_TEST_POSTGRES_URL is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    yield from _pg_schema(PG_URL)


def _pg_schema(base: str) -> Iterator[str]:
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store."""
    db = Store(db_url)
    db.upgrade()
    yield db
    db.close()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def sms() -> Iterator[SmsSink]:
    sink = SmsSink().start()
    yield sink
    sink.stop()

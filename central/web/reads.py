"""Read-only sessions for the dashboard's pages, API reads and live loop.

The store's own sessions start with ``BEGIN IMMEDIATE`` on SQLite, which takes
the database's write lock: right for the service's decisions, wrong for a
page of 2,000 homes, which would stall ingest for its whole render. Here, on
SQLite, a second engine opens connections with ``PRAGMA query_only`` and
SQLite's own deferred transactions; in WAL mode (set by the store) readers
never block the writer and see only committed data. On PostgreSQL the store's
sessions already read without blocking, so they are used as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from central.store.db import Store


class Reader:
    """Sessions that only read.

    :param Store store: the central store (its URL, and its sessions on PostgreSQL).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._sessions: sessionmaker[Session] | None = None
        if store.sqlite:
            engine = create_engine(
                store.url, connect_args={"timeout": 30, "check_same_thread": False}
            )
            event.listen(engine, "connect", _read_only)
            self._engine = engine
            self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reading; never commits."""
        if self._sessions is None:
            with self._store.session() as session:
                yield session
            return
        with self._sessions() as session:
            yield session

    def close(self) -> None:
        if self._sessions is not None:
            self._engine.dispose()


def _read_only(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()

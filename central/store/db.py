"""Opening the database: SQLite (file, WAL) or PostgreSQL by URL, and migrations.

SQLite transactions start with ``BEGIN IMMEDIATE`` so that the service's
threads queue on the write lock (``busy_timeout``) instead of failing when a
read turns into a write. ``synchronous=FULL`` because the power can go at any
moment and an acknowledged decision must survive it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from central.errors import StoreError

_MIGRATIONS = Path(__file__).parent / "migrations"


class Store:
    """The database: an engine, a session factory and the dialect's quirks.

    :param str url: ``sqlite:///PATH`` or ``postgresql+psycopg://...``.
    """

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.sqlite:
            _sqlite_pragmas(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error."""
        with self._sessions.begin() as session:
            yield session

    def check(self) -> None:
        """Connect once, so that an unreachable database fails at start with a clear message.

        :raises StoreError: naming the URL (without password) and the cause.
        """
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            shown = self.engine.url.render_as_string(hide_password=True)
            raise StoreError(f"cannot reach the database {shown}: {exc.orig}") from None

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (also run at every start)."""
        self.check()
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

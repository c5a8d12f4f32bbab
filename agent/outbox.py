"""The persistent outbox: what the agent has said but the broker has not yet confirmed.

paho keeps unconfirmed QoS 1 messages in memory only, so a power cut or an
agent restart would lose them, and an event lost while the router is down is
exactly the event the central service needs (``restart_exhausted`` at 03:00).
Rules:

- A message is written (and fsynced: WAL with ``synchronous=FULL``) before it
  is handed to paho, and deleted only when the broker's PUBACK for it arrives.
- Rows are sent in insertion order; the row id is the order.
- Rows with a coalesce key (the retained state snapshot) replace the older row
  with that key: only the latest state matters, so heartbeats during a long
  outage take one row. Rows without a key (events, command results) are never
  dropped, which keeps the file bounded by what actually happened.
- Delivery is at least once: a row whose PUBACK was lost is sent again after a
  restart, and readers deduplicate by event id (docs/agent-mqtt.md).

:class:`InFlight` maps paho message ids to rows. paho may run ``on_publish``
on its loop thread before ``publish()`` has returned the mid to the caller (a
fast broker on loopback does this routinely), so an acknowledgement for a mid
nobody registered yet is parked and matched when the mid is registered.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL,
    coalesce_key TEXT
);
CREATE INDEX IF NOT EXISTS outbox_coalesce ON outbox (coalesce_key);
"""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One stored message; ``id`` orders rows and names them for confirmation."""

    id: int
    topic: str
    payload: bytes
    retain: bool


class Outbox:
    """A SQLite file of unconfirmed messages, safe to share between threads.

    :param path: the database file, e.g. ``/var/lib/driftvakt/outbox.sqlite3``.
        Its directory is created if missing.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a row reported written survives a power cut (DESIGN.md, Agent).
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def add(
        self, topic: str, payload: bytes, *, retain: bool = False, coalesce: str | None = None
    ) -> int:
        """Store a message durably before anyone tries to send it.

        :param coalesce: a key such as ``"state"``: older rows with the same key
            are deleted in the same transaction, so only the latest is kept.
        :returns: the new row id.
        """
        with self._lock:
            db = self._conn()
            with db:
                db.execute("BEGIN IMMEDIATE")
                if coalesce is not None:
                    db.execute("DELETE FROM outbox WHERE coalesce_key = ?", (coalesce,))
                cursor = db.execute(
                    "INSERT INTO outbox (topic, payload, retain, coalesce_key) VALUES (?, ?, ?, ?)",
                    (topic, payload, int(retain), coalesce),
                )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def pending(self, after: int = 0, limit: int = 100) -> list[OutboxRow]:
        """Rows with an id above ``after``, oldest first."""
        with self._lock:
            rows = self._conn().execute(
                "SELECT id, topic, payload, retain FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            )
            return [OutboxRow(i, t, bytes(p), bool(r)) for i, t, p, r in rows]

    def confirm(self, row_id: int) -> None:
        """Delete a row the broker has acknowledged (a row already replaced is fine)."""
        with self._lock:
            db = self._conn()
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._conn().execute("SELECT COUNT(*) FROM outbox").fetchone()
            return int(count)

    def close(self) -> None:
        """Close the file; calling it again does nothing."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise ValueError(f"outbox {self.path} is closed")
        return self._db


class InFlight:
    """Which outbox row each unacknowledged paho message id carries.

    Thread-safe and never blocks for long: :meth:`acked` runs in paho's
    ``on_publish`` on the loop thread, while paho holds its own message lock,
    so nothing here may call back into paho.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[int, int | None] = {}
        self._early: set[int] = set()

    def sent(self, mid: int, row_id: int | None) -> int | None:
        """Register what ``publish()`` returned.

        :param row_id: the outbox row, or ``None`` for a message that is not
            stored (availability); registering those keeps stray acks from
            being parked forever.
        :returns: ``row_id`` if its PUBACK already arrived, else ``None``.
        """
        with self._lock:
            if mid in self._early:
                self._early.discard(mid)
                return row_id
            self._rows[mid] = row_id
            return None

    def acked(self, mid: int) -> int | None:
        """Record a PUBACK; returns the row it confirms, if known yet."""
        with self._lock:
            if mid in self._rows:
                return self._rows.pop(mid)
            self._early.add(mid)
            return None

    def rows(self) -> set[int]:
        """Outbox rows sent and not yet acknowledged."""
        with self._lock:
            return {r for r in self._rows.values() if r is not None}

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._early.clear()

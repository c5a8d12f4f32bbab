"""The outbox against a real SQLite file: order, coalescing, restart survival, PUBACK matching."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from agent.outbox import InFlight, Outbox


def test_outbox_keeps_insertion_order(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        ids = [box.add("t/events", f"e{i}".encode()) for i in range(5)]
        rows = box.pending()
    assert [r.id for r in rows] == ids
    assert [r.payload for r in rows] == [b"e0", b"e1", b"e2", b"e3", b"e4"]


def test_outbox_pending_after_pages_in_order(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        ids = [box.add("t", str(i).encode()) for i in range(6)]
        first = box.pending(limit=2)
        rest = box.pending(after=first[-1].id)
    assert [r.id for r in first] == ids[:2]
    assert [r.id for r in rest] == ids[2:]


def test_outbox_coalesces_state_but_never_events(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        box.add("t/events", b"down")
        for n in range(50):
            box.add("t/state", f"s{n}".encode(), retain=True, coalesce="state")
        box.add("t/events", b"up")
        box.add("t/state", b"s-last", retain=True, coalesce="state")
        rows = box.pending()
    assert [(r.topic, r.payload, r.retain) for r in rows] == [
        ("t/events", b"down", False),
        ("t/events", b"up", False),
        ("t/state", b"s-last", True),
    ]


def test_outbox_confirm_deletes_only_that_row(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        a = box.add("t", b"a")
        b = box.add("t", b"b")
        box.confirm(a)
        box.confirm(a)  # a late duplicate PUBACK is harmless
        assert [r.id for r in box.pending()] == [b]
        assert len(box) == 1


def test_outbox_survives_restart_with_real_file(tmp_path: Path) -> None:
    path = tmp_path / "var" / "outbox.sqlite3"
    box = Outbox(path)
    first = box.add("t", b"one")
    box.add("t", b"two")
    box.confirm(first)
    box.close()
    box.close()  # closing twice is allowed
    with Outbox(path) as again:
        assert [r.payload for r in again.pending()] == [b"two"]
        third = again.add("t", b"three")
        assert third > first  # ids never reused, so order holds across restarts


def test_outbox_uses_wal_and_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path) as box:
        assert box._conn().execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()
    assert mode == ("wal",)


def test_outbox_row_written_survives_process_kill(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    code = (
        "import os, sys\n"
        "from agent.outbox import Outbox\n"
        "box = Outbox(sys.argv[1])\n"
        "box.add('t/events', b'before-kill')\n"
        "os.kill(os.getpid(), 9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)], check=False)
    assert proc.returncode == -9
    with Outbox(path) as box:
        assert [r.payload for r in box.pending()] == [b"before-kill"]


def test_inflight_matches_ack_after_registration() -> None:
    flight = InFlight()
    assert flight.sent(7, 101) is None
    assert flight.rows() == {101}
    assert flight.acked(7) == 101
    assert flight.rows() == set()


def test_inflight_matches_ack_that_beat_publish_return() -> None:
    flight = InFlight()
    assert flight.acked(9) is None  # on_publish fired before publish() returned mid 9
    assert flight.sent(9, 202) == 202
    assert flight.sent(9, 203) is None  # mid reused after wrap: waits for its own ack
    assert flight.rows() == {203}


def test_inflight_unstored_messages_confirm_no_row() -> None:
    flight = InFlight()
    flight.sent(1, None)
    assert flight.acked(1) is None
    assert flight.rows() == set()


def test_inflight_concurrent_acks_and_sends_lose_nothing() -> None:
    flight = InFlight()
    confirmed: list[int] = []
    lock = threading.Lock()

    def acker() -> None:
        for mid in range(1, 2001):
            row = flight.acked(mid)
            if row is not None:
                with lock:
                    confirmed.append(row)

    thread = threading.Thread(target=acker)
    thread.start()
    for mid in range(1, 2001):
        row = flight.sent(mid, mid * 10)
        if row is not None:
            with lock:
                confirmed.append(row)
    thread.join()
    assert sorted(confirmed) == [mid * 10 for mid in range(1, 2001)]
    assert flight.rows() == set()

"""Benchmark: the dashboard over a municipality of 2,000 homes (issue 6).

Prints, per operation, the median time over several rounds: the fleet read
model, the live loop's fingerprint of the fleet (run every ``live_poll_s``),
the fleet page and ``/api/fleet`` through the real app. Beside them, measured
in the same run on the same SQLite file: the bare ORM load of the same rows
(the floor for any view of the whole fleet).

Then one gateway's history over an audit log of ``AUDIT_ROWS`` entries, each
home reporting in turn: through the ``audit_gateways`` index, and the scan of
the tenant's newest 5,000 rows the page used before (with how many of the 50
entries each finds). Run: ``make bench-web``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from central.registry import Home
from central.store import AuditEntry, AuditGateway, Gateway, Store, audit
from central.store import Home as HomeRow
from central.store import registry as registry_rows
from central.web import fleet
from central.web.app import create_app
from central.web.settings import WebConfig
from tests.web.conftest import CHEAP, PASSWORD, add_accounts, sign_in

HOMES = 2000
ROUNDS = 7
AUDIT_ROWS = 200_000
OLD_SCAN = 5000
"""Rows the gateway page filtered in Python before the index."""


def _seed(store: Store, now: datetime) -> None:
    homes = [
        Home(
            f"gw-{i:04d}",
            f"grupp-{i % 25}",
            (clock_time(22, 30), clock_time(2, 0)),
            label=f"Brukare {i}",
        )
        for i in range(HOMES)
    ]
    with store.session() as session:
        registry_rows.replace(session, "botkyrka", homes)
        for i, home in enumerate(homes):
            health = "failed" if i % 97 == 0 else "down" if i % 31 == 0 else "up"
            since = (now - timedelta(minutes=i % 60)).isoformat()
            session.add(
                Gateway(
                    tenant="botkyrka",
                    gateway=home.gateway,
                    availability="online",
                    availability_at=now,
                    state_at=now,
                    heartbeat_s=30,
                    boot="B",
                    seq=i,
                    time_synced=True,
                    devices={
                        "router": {"health": "up", "since": since, "restarts_24h": 0},
                        "camera": {"health": health, "since": since, "restarts_24h": i % 4},
                    },
                )
            )


def _seed_audit(store: Store, now: datetime) -> None:
    """``AUDIT_ROWS`` gateway events, round robin over the homes, indexed as
    :func:`central.store.audit.record` indexes them (bulk inserts: seconds, not minutes)."""
    batch = 20_000
    for start in range(0, AUDIT_ROWS, batch):
        ids = range(start + 1, start + batch + 1)
        gateways = [f"gw-{i % HOMES:04d}" for i in ids]
        with store.session() as session:
            session.execute(
                insert(AuditEntry),
                [
                    {
                        "id": i,
                        "at": now - timedelta(seconds=AUDIT_ROWS - i),
                        "tenant": "botkyrka",
                        "kind": "gateway",
                        "actor": gw,
                        "detail": {"type": "heartbeat_missed", "device": "camera", "agent": {}},
                    }
                    for i, gw in zip(ids, gateways, strict=True)
                ],
            )
            session.execute(
                insert(AuditGateway),
                [
                    {"audit_id": i, "tenant": "botkyrka", "gateway": g}
                    for i, gw in zip(ids, gateways, strict=True)
                    for g in audit.concerns({}, gw)
                ],
            )


def _old_scan(store: Store, gateway: str) -> list[AuditEntry]:
    """The page's history before the index: the tenant's newest rows, filtered here
    (by actor only: every seeded entry is a gateway's own event)."""
    with store.session() as session:
        recent = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.tenant == "botkyrka")
            .order_by(AuditEntry.id.desc())
            .limit(OLD_SCAN)
        )
        return [e for e in recent if e.actor == gateway][:50]


def _indexed(store: Store, gateway: str) -> list[AuditEntry]:
    with store.session() as session:
        return audit.gateway_history(session, "botkyrka", gateway, 50)


def _median_ms(run: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.upgrade()
        _seed(store, now)
        _seed_audit(store, now)
        add_accounts(store)
        found = {"index": len(_indexed(store, "gw-0007")), "scan": len(_old_scan(store, "gw-0007"))}

        def bare() -> None:
            with store.session() as session:
                list(session.scalars(select(HomeRow)))
                list(session.scalars(select(Gateway)))

        def board() -> None:
            with store.session() as session:
                fleet.fleet(session, now, labels=True)

        def fingerprint() -> None:
            with store.session() as session:
                fleet.fingerprint(session, now)

        app = create_app(None, store, WebConfig(), secret="b" * 32, hasher=CHEAP, now=lambda: now)
        with TestClient(app) as client:
            sign_in(client, "user-larmgruppen", PASSWORD)
            rows = {
                "baseline: ORM load of homes and gateways": _median_ms(bare),
                "fleet read model (fleet.fleet)": _median_ms(board),
                "live fingerprint of the fleet": _median_ms(fingerprint),
                "GET /fleet (HTML, all homes)": _median_ms(lambda: client.get("/fleet")),
                "GET /api/fleet (JSON)": _median_ms(lambda: client.get("/api/fleet")),
                "GET /fleet?state=atgard": _median_ms(lambda: client.get("/fleet?state=atgard")),
                f"history via audit_gateways ({found['index']} of 50 found)": _median_ms(
                    lambda: _indexed(store, "gw-0007")
                ),
                f"old: scan newest {OLD_SCAN} ({found['scan']} of 50 found)": _median_ms(
                    lambda: _old_scan(store, "gw-0007")
                ),
                "GET /api/gateways/botkyrka/gw-0007": _median_ms(
                    lambda: client.get("/api/gateways/botkyrka/gw-0007")
                ),
            }
        store.close()
    print(f"dashboard over {HOMES} homes and {AUDIT_ROWS} audit rows, median of {ROUNDS} rounds")
    for name, ms in rows.items():
        print(f"  {name:<44} {ms:8.1f} ms")


if __name__ == "__main__":
    main()

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import IntegrityError

import central.store
from central.errors import StoreError
from central.store import (
    AuditEntry,
    AuditGateway,
    Incident,
    OutboxMessage,
    ProcessedEvent,
    Store,
    audit,
    outbox,
    timers,
)
from central.store.db import Store as StoreClass

T0 = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)


def _message(key: str, now: datetime = T0) -> OutboxMessage:
    return OutboxMessage(
        idempotency_key=key,
        tenant="botkyrka",
        channel="email",
        recipient="larm@example.se",
        subject="s",
        body="b",
        created_at=now,
        next_attempt_at=now,
    )


def test_store_upgrade_creates_tables_and_is_repeatable(store: Store) -> None:
    store.upgrade()
    names = set(inspect(store.engine).get_table_names())
    assert {"homes", "gateways", "incidents", "tasks", "timers", "outbox", "audit"} <= names
    assert "alembic_version" in names


def test_store_times_come_back_aware_utc(store: Store) -> None:
    with store.session() as s:
        s.add(ProcessedEvent(event_id="E1", tenant="t", gateway="g", received_at=T0))
    with store.session() as s:
        row = s.get(ProcessedEvent, "E1")
        assert row is not None and row.received_at == T0 and row.received_at.tzinfo is UTC


def test_store_event_id_is_unique(store: Store) -> None:
    with store.session() as s:
        s.add(ProcessedEvent(event_id="E1", tenant="t", gateway="g", received_at=T0))
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(ProcessedEvent(event_id="E1", tenant="t", gateway="g", received_at=T0))


def test_store_open_incident_key_is_unique(store: Store) -> None:
    def incident(iid: str) -> Incident:
        return Incident(
            id=iid, tenant="t", kind="single", open_key="t/single/gw-1", opened_at=T0, updated_at=T0
        )

    with store.session() as s:
        s.add(incident("I1"))
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(incident("I2"))


def test_timers_reschedule_makes_old_token_stale(store: Store) -> None:
    with store.session() as s:
        old = timers.schedule(s, tenant="t", owner="I1", key="ack", due=T0)
    with store.session() as s:
        new = timers.schedule(s, tenant="t", owner="I1", key="ack", due=T0 + timedelta(minutes=5))
    with store.session() as s:
        assert timers.claim_due(s, T0) == []
        (row,) = timers.claim_due(s, T0 + timedelta(minutes=5))
        assert timers.take(s, row.id, old) is None
        assert timers.take(s, row.id, new) is not None
    with store.session() as s:
        assert timers.claim_due(s, T0 + timedelta(hours=1)) == []
    assert old != new


def test_timers_rollback_leaves_timer_to_fire_again(store: Store) -> None:
    with store.session() as s:
        timers.schedule(s, tenant="t", owner="I1", key="ack", due=T0)
    with pytest.raises(RuntimeError), store.session() as s:
        (row,) = timers.claim_due(s, T0)
        assert timers.take(s, row.id, row.token) is not None
        raise RuntimeError("crash before commit")
    with store.session() as s:
        assert len(timers.claim_due(s, T0)) == 1


def test_timers_claimed_once_by_concurrent_workers(store: Store) -> None:
    with store.session() as s:
        for i in range(40):
            timers.schedule(s, tenant="t", owner=f"I{i}", key="ack", due=T0)
    taken: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with store.session() as s:
                rows = timers.claim_due(s, T0, limit=3)
                got = [r.owner for r in rows if timers.take(s, r.id, r.token) is not None]
            with lock:
                taken.extend(got)
            if not rows:
                return

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(taken) == sorted(f"I{i}" for i in range(40))


def test_outbox_idempotency_key_added_once(store: Store) -> None:
    with store.session() as s:
        assert outbox.enqueue(s, _message("k1"))
        assert not outbox.enqueue(s, _message("k1"))
    with store.session() as s:
        assert len(list(s.scalars(select(OutboxMessage)))) == 1


def test_outbox_backoff_doubles_then_dead(store: Store) -> None:
    backoff = outbox.Backoff(base_s=1, max_s=4, max_attempts=4)
    with store.session() as s:
        outbox.enqueue(s, _message("k1"))
    now, delays = T0, []
    for _ in range(4):
        with store.session() as s:
            (row,) = outbox.claim(s, now)
            assert outbox.claim(s, now) == []  # leased
            status = outbox.mark_failed(s, row.id, now, "refused", backoff, permanent=False)
            after = s.get(OutboxMessage, row.id)
            assert after is not None
            delays.append((after.next_attempt_at - now).total_seconds())
            now = after.next_attempt_at
    assert delays[:3] == [1, 2, 4] and status == "dead"
    with store.session() as s:
        (dead,) = outbox.dead_letters(s)
        assert dead.attempts == 4 and dead.last_error == "refused"
        assert outbox.retry_dead(s, dead.id, now)
        assert outbox.claim(s, now)[0].attempts == 1


def test_audit_is_append_only(store: Store) -> None:
    with store.session() as s:
        audit.record(s, at=T0, tenant="t", kind="human", actor="anna", detail={"action": "ack"})
    with store.session() as s:
        (entry,) = audit.entries(s)
        assert entry.detail == {"action": "ack"} and entry.actor == "anna"
    with pytest.raises(StoreError, match="append-only"), store.session() as s:
        (entry,) = audit.entries(s)
        entry.actor = "someone else"


def test_audit_gateway_index_is_append_only(store: Store) -> None:
    with store.session() as s:
        audit.record(s, at=T0, tenant="t", kind="command", actor="anna", detail={"gateway": "gw-1"})
    with pytest.raises(StoreError, match="append-only"), store.session() as s:
        s.scalars(select(AuditGateway)).one().gateway = "gw-2"
    with pytest.raises(StoreError, match="append-only"), store.session() as s:
        s.delete(s.scalars(select(AuditGateway)).one())
    with pytest.raises(StoreError, match="append-only"), store.session() as s:
        (entry,) = audit.entries(s)
        entry.gateways.append(AuditGateway(tenant="t", gateway="gw-3"))
    with store.session() as s:
        assert [(g.tenant, g.gateway) for g in s.scalars(select(AuditGateway))] == [("t", "gw-1")]


def test_audit_record_indexes_the_gateways_an_entry_concerns(store: Store) -> None:
    with store.session() as s:
        audit.record(
            s,
            at=T0,
            tenant="t",
            kind="decision",
            actor="engine",
            detail={"gateway": "gw-1", "gateways": ["gw-2", "gw-1"]},
        )
        audit.record(s, at=T0, tenant="t", kind="gateway", actor="gw-3", gateway="gw-3")
        audit.record(s, at=T0, tenant="t", kind="human", actor="anna", detail={"gateway": None})
    with store.session() as s:
        rows = s.execute(select(AuditGateway.audit_id, AuditGateway.gateway)).all()
        assert sorted(rows) == [(1, "gw-1"), (1, "gw-2"), (2, "gw-3")]


def test_store_unreachable_database_names_url() -> None:
    db = StoreClass("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(StoreError, match=r"cannot reach the database .*127\.0\.0\.1:1/none") as err:
        db.check()
    assert "secret" not in str(err.value)


def _migrate(store: Store, run: Callable[[Config], None]) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(central.store.__file__).parent / "migrations"))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        run(cfg)


def test_store_migrations_match_the_models(store: Store) -> None:
    _migrate(store, command.check)  # raises if a model changed without a migration


def _old_entry(i: int) -> dict[str, Any]:
    """Audit rows as written before 0003, every shape the gateway page matched."""
    shapes: list[tuple[str, dict[str, Any]]] = [
        (f"gw-{i % 7}", {"type": "device_down"}),  # the gateway's own event: by actor
        ("anna", {"command": f"C{i}", "gateway": f"gw-{i % 5}"}),
        ("engine", {"gateways": [f"gw-{i % 3}", "gw-x"]}),
        ("outbox", {}),
    ]
    actor, detail = shapes[i % len(shapes)]
    return {"at": T0, "tenant": "t", "kind": "k", "actor": actor, "detail": detail}


def test_store_migration_0003_backfills_the_audit_gateway_index(db_url: str) -> None:
    db = Store(db_url)
    try:
        _migrate(db, lambda cfg: command.upgrade(cfg, "0002"))
        with db.engine.begin() as conn:  # more rows than one backfill batch
            conn.execute(insert(AuditEntry), [_old_entry(i) for i in range(4500)])
        _migrate(db, lambda cfg: command.upgrade(cfg, "head"))
        with db.session() as s:
            # the rule the page applied before the index: actor, detail gateway, detail gateways
            wanted = {
                (e.id, g)
                for e in s.scalars(select(AuditEntry))
                for g in {e.actor, e.detail.get("gateway"), *e.detail.get("gateways", ())}
                if g
            }
            got = set(s.execute(select(AuditGateway.audit_id, AuditGateway.gateway)).all())
            assert got == wanted and len(got) == 1125 * (1 + 2 + 3 + 1)
            history = audit.gateway_history(s, "t", "gw-x", limit=3)
            assert [e.id for e in history] == [4499, 4495, 4491]
        _migrate(db, lambda cfg: command.downgrade(cfg, "0002"))
        assert "audit_gateways" not in inspect(db.engine).get_table_names()
        db.upgrade()  # and up again: the backfill runs on the rows still there
        with db.session() as s:
            assert len(s.scalars(select(AuditGateway)).all()) == len(got)
    finally:
        db.close()

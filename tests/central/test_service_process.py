"""Must-show: the service process killed with SIGKILL between an incident
opening and its next timer fires that timer once after a restart, and every
notification reaches the SMTP server exactly once. Also: clear exits when the
database or the broker cannot be reached at start, and a clean SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from central.store import OutboxMessage, Store, Timer
from protocol import TopicKind, gateway_topic
from sim.broker import Broker, BrokerClient
from tests.central.harness import (
    TENANT,
    event,
    fast_policy,
    make_config,
    seed_registry,
    snapshot,
    to_toml,
)
from tests.central.servers import SmsSink, SmtpSink, free_port, wait_for

CLI = [sys.executable, "-m", "central.cli", "run", "--config"]


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    return subprocess.Popen([*CLI, str(config)], stdout=out, stderr=subprocess.STDOUT, env=env)


def _write(tmp: Path, data: dict[str, Any]) -> Path:
    path = tmp / "central.toml"
    path.write_text(to_toml(data))
    return path


def _timers(store: Store) -> list[Timer]:
    with store.session() as s:
        return list(s.scalars(select(Timer)))


def _open_outage(gw: BrokerClient, gateway: str) -> None:
    now = datetime.now(UTC)
    gw.publish(gateway_topic(TENANT, gateway, TopicKind.STATE), snapshot("failed", now, 1))
    gw.publish(gateway_topic(TENANT, gateway, TopicKind.EVENTS), event("restart_exhausted", now, 2))


def _kill_before_next_timer(proc: subprocess.Popen[bytes], store: Store) -> Timer:
    """SIGKILL once the opening's notifications are marked sent; returns the pending ack timer."""
    wait_for(lambda: _all_sent(store), 10, "the opening's notifications to be marked sent")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    ack = [t for t in _timers(store) if t.payload["purpose"] == "ack"]
    assert ack, "the incident's acknowledgement timer must still be pending at the kill"
    return min(ack, key=lambda t: t.due_at)


def _assert_each_once(smtp: SmtpSink, store: Store) -> None:
    ids = Counter(str(m["Message-ID"]) for m in smtp.messages)
    assert max(ids.values()) == 1, f"an e-mail arrived twice: {ids}"
    reminders = [m for m in smtp.messages if "Påminnelse" in str(m["Subject"])]
    assert len({str(m["X-Driftvakt-Key"]) for m in reminders}) == len(reminders) >= 1
    with store.session() as s:
        query = select(OutboxMessage.idempotency_key).where(
            OutboxMessage.channel == "email", OutboxMessage.status == "sent"
        )
        sent = set(s.scalars(query))
    assert sent == {str(m["X-Driftvakt-Key"]) for m in smtp.messages}


def test_service_sigkill_then_restart_fires_timer_once_and_sends_each_once(
    db_url: str, broker: Broker, broker_client: Any, smtp: SmtpSink, sms: SmsSink, tmp_path: Path
) -> None:
    gateway = "gw-12"
    seed_registry(db_url, [gateway])
    policy = fast_policy(tmp_path, ack="4s")
    data = make_config(broker, db_url, smtp.port, sms.url, tmp_path, policy=str(policy))
    config, log = _write(tmp_path, data), tmp_path / "central.log"
    store = Store(db_url)
    proc = _start(config, log)
    gw: BrokerClient = broker_client(gateway)
    try:
        wait_for(lambda: b"running for botkyrka" in log.read_bytes(), 20, "the service to start")
        _open_outage(gw, gateway)
        wait_for(lambda: len(smtp.messages) >= 1, 20, "the first e-mail")
        ack = _kill_before_next_timer(proc, store)
        wait_for(lambda: datetime.now(UTC) > ack.due_at, 10, "the timer to fall due while down")

        proc = _start(config, log)
        wait_for(lambda: any("Påminnelse" in s for s in smtp.subjects()), 20, "the reminder")
        assert not [t for t in _timers(store) if t.token == ack.token]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        gw.publish(gateway_topic(TENANT, gateway, TopicKind.STATE), b"", retain=True)
    _assert_each_once(smtp, store)
    store.close()


def _all_sent(store: Store) -> bool:
    with store.session() as s:
        return set(s.scalars(select(OutboxMessage.status))) == {"sent"}


def test_service_exits_clearly_when_database_unreachable(tmp_path: Path, broker: Broker) -> None:
    data = make_config(
        broker,
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
        25,
        "http://127.0.0.1:1/sms",
        tmp_path,
    )
    proc = subprocess.run([*CLI, str(_write(tmp_path, data))], capture_output=True, timeout=60)
    assert proc.returncode == 3
    assert b"cannot reach the database postgresql+psycopg://nobody@127.0.0.1:1/none" in proc.stderr


def test_service_exits_clearly_when_broker_unreachable(tmp_path: Path, broker: Broker) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    data = make_config(broker, db, 25, "http://127.0.0.1:1/sms", tmp_path)
    data["broker"]["url"] = f"mqtts://127.0.0.1:{free_port()}"
    proc = subprocess.run([*CLI, str(_write(tmp_path, data))], capture_output=True, timeout=60)
    assert proc.returncode == 3
    assert b"cannot reach the MQTT broker at mqtts://127.0.0.1:" in proc.stderr

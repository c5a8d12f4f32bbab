"""Benchmark of the central service (``make bench-central``); prints figures, asserts nothing.

1. Latency from a gateway's ``restart_exhausted`` publish to the SMTP server
   receiving the first message: p50 and p99 over 200 incidents, on SQLite and
   (with ``DRIFTVAKT_TEST_POSTGRES_URL``) PostgreSQL. Floor: p99 < 1 s.
2. Ingest rate of state snapshots through the real broker (TLS, QoS 1): the
   service (parsed, deduplicated by boot/seq, applied to fleet state and the
   engine) beside two baselines reading the same stream in the same run:
   ``mosquitto_sub`` and a bare paho subscriber that only counts.
   Floors: >= 20,000/s and >= half the bare paho rate.

The stream comes from ``mosquitto_pub -l`` processes (C, one per gateway
account, since the ACL lets each gateway write only its own prefix).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from central.policy import default_policy_text
from central.store import Store
from protocol import TopicKind, gateway_topic, subscriptions
from sim.broker import Broker, Credentials, find_mosquitto, render_mosquitto_conf
from tests.central.harness import (
    TENANT,
    TickingClock,
    config_of,
    event,
    make_config,
    running,
    seed_registry,
    snapshot,
)
from tests.central.servers import SmsSink, SmtpSink, wait_for

INCIDENTS = int(os.environ.get("BENCH_INCIDENTS", "200"))
STREAM = int(os.environ.get("BENCH_STREAM", "200000"))
PUBLISHERS = 4
TUESDAY_10 = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)


class BenchBroker(Broker):
    """The project's broker configuration, with the per-client queue limits raised.

    Mosquitto's defaults (20 QoS 1 messages in flight, 1,000 queued per client)
    drop a burst this large; the benchmark measures the readers, not the drops.
    """

    def _spawn(self) -> None:
        conf = self.directory / "mosquitto.conf"
        extra = "max_queued_messages 1000000\nmax_inflight_messages 1000\n"
        conf.write_text(render_mosquitto_conf(self._settings()) + extra)
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [str(find_mosquitto()), "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )


class TimedSmtp(SmtpSink):
    """Also notes when each message arrived (monotonic seconds)."""

    arrivals: list[float]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrivals.append(time.monotonic())
        return await super().handle_DATA(server, session, envelope)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(broker: Broker, db_url: str, tmp: Path) -> list[float]:
    gateways = [f"gw-{i:03d}" for i in range(INCIDENTS)]
    seed_registry(db_url, gateways)
    policy = tmp / "bench-policy.toml"  # no grouping into an extensive outage
    policy.write_text(default_policy_text().replace("threshold = 3", "threshold = 100000"))
    smtp, sms = TimedSmtp(), SmsSink().start()
    smtp.arrivals = []
    smtp.start()
    data = make_config(broker, db_url, smtp.port, sms.url, tmp, policy=str(policy))
    out: list[float] = []
    try:
        with running(config_of(data), TickingClock(TUESDAY_10)):
            for i, gateway in enumerate(gateways):
                # One gateway connection at a time: 200 idle paho threads in this
                # process would compete with the service for the GIL.
                with broker.client(gateway) as client:
                    topic = gateway_topic(TENANT, gateway, TopicKind.EVENTS)
                    start = time.monotonic()
                    client.publish(topic, event("restart_exhausted", TUESDAY_10, i))
                    wait_for(lambda: len(smtp.arrivals) > len(out), 10, "the incident's e-mail")
                    out.append(smtp.arrivals[len(out)] - start)
    finally:
        smtp.stop()
        sms.stop()
    return out


def _tls_args(creds: Credentials, broker: Broker) -> list[str]:
    return [
        "-h",
        broker.host,
        "-p",
        str(broker.port),
        "--cafile",
        str(creds.cafile),
        "--cert",
        str(creds.certfile),
        "--key",
        str(creds.keyfile),
        "-u",
        creds.username,
        "-P",
        creds.password,
        "-q",
        "1",
    ]


def _stream_files(tmp: Path, boot: str) -> list[Path]:
    files = []
    for p in range(PUBLISHERS):
        path = tmp / f"stream-{p}.txt"
        lines = (
            snapshot("up", TUESDAY_10, seq, boot=boot).decode()
            for seq in range(STREAM // PUBLISHERS)
        )
        path.write_text("\n".join(lines) + "\n")
        files.append(path)
    return files


def _publish(broker: Broker, files: list[Path]) -> float:
    """Run the publishers to completion; returns the wall-clock start."""
    start = time.time()
    procs = []
    for p, path in enumerate(files):
        gateway = f"gw-{p:03d}"
        args = [
            "mosquitto_pub",
            *_tls_args(broker.account(gateway), broker),
            "-l",
            "-M",
            "100",
            "-t",
            gateway_topic(TENANT, gateway, TopicKind.STATE),
            "-i",
            f"pub-{p}",
        ]
        procs.append(subprocess.Popen(args, stdin=path.open("rb")))
    for proc in procs:
        proc.wait(300)
    return start


def rate_mosquitto_sub(broker: Broker, files: list[Path], tmp: Path) -> tuple[int, float]:
    out = tmp / "sub.txt"
    topic = subscriptions(TENANT)[1]
    args = [
        "mosquitto_sub",
        *_tls_args(broker.account("central"), broker),
        "-t",
        topic,
        "-F",
        "%U",
        "-C",
        str(STREAM),
        "-W",
        "120",
        "-i",
        "bench-sub",
    ]
    with out.open("wb") as sink:
        sub = subprocess.Popen(args, stdout=sink)
        time.sleep(0.5)  # let it subscribe; mosquitto_sub has no ready signal
        start = _publish(broker, files)
        sub.wait(180)
    stamps = [float(x) for x in out.read_text().split()]
    return len(stamps), len(stamps) / (max(stamps) - start)


def rate_bare_paho(broker: Broker, files: list[Path]) -> tuple[int, float]:
    creds = broker.account("central")
    count, last = [0], [0.0]
    done = threading.Event()

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        count[0] += 1
        last[0] = time.time()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-paho")
    client.tls_set(
        ca_certs=str(creds.cafile), certfile=str(creds.certfile), keyfile=str(creds.keyfile)
    )
    client.username_pw_set(creds.username, creds.password)
    client.on_message = on_message
    client.on_subscribe = lambda *_: done.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.subscribe(subscriptions(TENANT)[1], qos=1)
    done.wait(10)
    start = _publish(broker, files)
    wait_for(lambda: count[0] >= STREAM or time.time() - last[0] > 2, 120, "paho to drain")
    client.disconnect()
    client.loop_stop()
    return count[0], count[0] / (last[0] - start)


def rate_service(broker: Broker, files: list[Path], tmp: Path) -> tuple[int, float, dict[str, Any]]:
    db_url = f"sqlite:///{tmp / 'ingest.db'}"
    seed_registry(db_url, [f"gw-{p:03d}" for p in range(PUBLISHERS)])
    data = make_config(broker, db_url, 1, "http://127.0.0.1:1/sms", tmp)
    with running(config_of(data), TickingClock(TUESDAY_10)) as central:
        assert central.ingest is not None
        counters = central.ingest.counters
        time.sleep(0.5)  # retained messages of the earlier runs settle first
        base = counters.accepted["state"] + counters.stale_states
        start = _publish(broker, files)
        last, seen = time.time(), base

        def drained() -> bool:
            nonlocal last, seen
            now = counters.accepted["state"] + counters.stale_states
            if now != seen:
                seen, last = now, time.time()
            return now - base >= STREAM or time.time() - last > 2

        wait_for(drained, 180, "the service to drain")
        wait_for(lambda: central.ingest is not None and central.ingest.idle.is_set(), 30, "idle")
        got = seen - base
        stats = {
            **central.service.counters,
            "stale": counters.stale_states,
            "rejected": dict(counters.rejected),
        }
    return got, got / (last - start), stats


def main() -> int:
    pg = os.environ.get("DRIFTVAKT_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        broker = BenchBroker(tmp / "broker")
        broker.add_gateways(TENANT, [f"gw-{i:03d}" for i in range(max(INCIDENTS, PUBLISHERS))])
        broker.add_central([TENANT])
        broker.start()
        try:
            print(f"latency restart_exhausted -> first e-mail, {INCIDENTS} incidents:")
            dbs = [("sqlite", f"sqlite:///{tmp / 'latency.db'}")]
            if pg:
                dbs.append(("postgresql", _fresh_pg(pg)))
            else:
                print("  postgresql: skipped (DRIFTVAKT_TEST_POSTGRES_URL not set)")
            for label, url in dbs if INCIDENTS else []:
                (tmp / label).mkdir()
                values = latency(broker, url, tmp / label)
                print(
                    f"  {label:10s} p50 {_pct(values, 0.5) * 1000:7.1f} ms   "
                    f"p99 {_pct(values, 0.99) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms"
                    f"   (floor: p99 < 1000 ms)"
                )
            if not STREAM:
                return 0
            print(f"ingest of {STREAM:,} state snapshots from {PUBLISHERS} gateways (TLS, QoS 1):")
            n, sub_rate = rate_mosquitto_sub(broker, _stream_files(tmp, "BOOTA"), tmp)
            print(f"  mosquitto_sub      {sub_rate:9,.0f}/s  ({n:,} received)")
            n, paho_rate = rate_bare_paho(broker, _stream_files(tmp, "BOOTB"))
            print(f"  bare paho          {paho_rate:9,.0f}/s  ({n:,} received)")
            n, rate, stats = rate_service(broker, _stream_files(tmp, "BOOTC"), tmp)
            print(f"  driftvakt-central  {rate:9,.0f}/s  ({n:,} received; {stats})")
            print(
                f"  service / bare paho = {rate / paho_rate:.2f}   (floors: >= 20,000/s and >= 0.5)"
            )
        finally:
            broker.stop()
    return 0


def _fresh_pg(base: str) -> str:
    """A private schema so the benchmark never touches other data."""
    from sqlalchemy import create_engine, make_url, text

    schema = f"bench_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    Store(url.render_as_string(hide_password=False)).upgrade()
    return url.render_as_string(hide_password=False)


if __name__ == "__main__":
    sys.exit(main())

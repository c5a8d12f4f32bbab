"""The demo's story, compressed, with every part real and in its own place.

Mosquitto (TLS, passwords, ACL) and ``driftvakt-central run`` (SQLite, the
shipped policy, ``--sim-clock``) run as processes; twelve homes run as real
agents in this process (``sim.fleet``); the e-mail, SMS and webhook sinks are
real servers; an outside subscriber records every MQTT message. The clock runs
600 times faster than real time, so the afternoon and night take about a minute.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.broker import Broker, Received
from sim.clock import ScaledClock, parse_local
from sim.fleet import Account, Fleet, Timing, gateway_id
from sim.scenario import FleetTarget, ScenarioRunner, parse_scenario, schedule
from sim.sinks import Captured, Inbox, MailSink, SmsSink
from sim.site import TENANT, CentralProcess, CentralSite, Sinks

SPEED = 600.0
START = "2027-01-12 13:00"
"""A Tuesday that is no holiday: office hours until 16:00, night from 21:30. The failures
come at 13:05, leaving the dead camera's restarts hours of demo time (seconds of real
time on a loaded machine) to be spent before office hours end."""
HOMES = [gateway_id(i) for i in range(1, 13)]
"""Twelve homes: five silent at once is an outage, not our own blindness (over half)."""
HUNG, DEAD, AREA = "gw-01", "gw-02", HOMES[2:7]
STORY = f"""
name = "compressed demo story"
[areas]
street = {AREA!r}

[[events]]
at = "13:05"
do = "hang"
homes = ["{HUNG}"]
device = "camera"

[[events]]
at = "13:05"
do = "dead"
homes = ["{DEAD}"]
device = "camera"

[[events]]
at = "22:00"
do = "power_off"
area = "street"

[[events]]
at = "22:40"
do = "power_on"
area = "street"

[[events]]
at = "23:10"
do = "repair"
homes = ["{DEAD}"]
device = "camera"
"""
TIMING = Timing(
    probe_interval_s=0.25,
    probe_timeout_s=0.1,
    heartbeat_s=1,
    off_time_s=0.2,
    boot_delay_s=0.2,
    max_consecutive=2,
    boot_wait_s=1200.0,
    keepalive_s=5,
)
"""Real-time loops short enough for 600x; a boot wait (2 real s) that survives a busy machine."""


@dataclass
class StoryResult:
    """What the outside world saw of the story."""

    site: CentralSite
    clock: ScaledClock
    mqtt: list[Received] = field(default_factory=list)
    messages: list[Captured] = field(default_factory=list)
    seconds: float = 0.0

    def decisions(self) -> list[dict[str, Any]]:
        """The engine's decisions from the audit log, in order."""
        return [d for kind, d in self.audit() if kind == "decision"]

    def audit(self) -> list[tuple[str, dict[str, Any]]]:
        import json

        with sqlite3.connect(self.site.db_path) as db:
            rows = db.execute("SELECT kind, detail FROM audit ORDER BY id").fetchall()
        return [(kind, json.loads(detail)) for kind, detail in rows]


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"not within {timeout} s: {what}")


def run_story(root: Path) -> StoryResult:
    """Run the compressed story to its end: both incidents closed, everything stopped."""
    began = time.monotonic()
    with Broker(root / "broker") as broker:
        broker.add_gateways(TENANT, HOMES)
        broker.add_central([TENANT])
        broker.start()
        start = parse_local(START)
        clock = ScaledClock(start, SPEED, time.monotonic() + 5.0)
        inbox = Inbox(None, clock)
        mail = MailSink(inbox).start()
        sms = SmsSink(inbox, "u-e2e", "p-e2e-secret").start()
        sinks = Sinks(mail.port, sms.url, "u-e2e", "p-e2e-secret", sms.webhook_url)
        site = CentralSite(root / "central", broker, HOMES, sinks, _free_port()).write()
        result = StoryResult(site, clock)
        central = CentralProcess(site, clock.spec())
        observer = broker.client("central", client_id="e2e-observer")
        observer.subscribe("driftvakt/v1/#")
        url = f"mqtts://{broker.host}:{broker.port}"
        accounts = {g: _account(broker, g, url) for g in HOMES}
        fleet = Fleet(root / "homes", accounts, clock=clock, speed=SPEED, timing=TIMING)
        try:
            central.start()
            fleet.start()
            steps = schedule(parse_scenario(STORY), start, HOMES)
            runner = ScenarioRunner(steps, clock, FleetTarget(fleet)).start()
            try:
                wait_for(runner.done.is_set, 90, "the scenario's last event")
                wait_for(lambda: _all_closed(result), 30, "every incident closed")
            finally:
                runner.close()
        finally:
            central.stop()
            fleet.close()
            result.mqtt = observer.received()
            observer.close()
            mail.stop()
            sms.stop()
        result.messages = inbox.messages()
        result.seconds = time.monotonic() - began
        return result


def _all_closed(result: StoryResult) -> bool:
    decisions = result.decisions()
    opened = {d["incident"] for d in decisions if d["event"] == "incident_opened"}
    closed = {d["incident"] for d in decisions if d["event"] == "incident_closed"}
    return len(opened) >= 2 and opened <= closed


def _account(broker: Broker, gateway: str, url: str) -> Account:
    c = broker.account(gateway)
    return Account(url, c.username, c.password, c.cafile, c.certfile, c.keyfile)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_hour(at: str) -> str:
    """``HH:MM`` in Stockholm of an RFC 3339 time."""
    from sim.clock import STOCKHOLM

    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(STOCKHOLM).strftime("%H:%M")


__all__ = ["AREA", "DEAD", "HUNG", "UTC", "StoryResult", "local_hour", "run_story"]

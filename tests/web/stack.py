"""The whole central service for the dashboard's end-to-end tests.

``driftvakt-central run``'s own ``Central`` (ingest, engine, timers, outbox
worker and the dashboard on a free port) against the session's real
Mosquitto broker, a SQLite file and a clock the test moves. Gateways are
real MQTT clients publishing through the broker under their own accounts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from central.config import parse_config
from central.registry import Home
from central.run import Central
from central.store import Store
from central.store import registry as registry_rows
from central.web.accounts import Accounts
from protocol import TopicKind, format_time, gateway_topic, new_id
from sim.broker import Broker
from sim.broker_client import BrokerClient
from tests.central.harness import FakeClock, make_config
from tests.central.servers import SmsSink, SmtpSink
from tests.web.conftest import CHEAP, PASSWORD

TENANT = "botkyrka"
IT_MAIL = "it@botkyrka.example"
HOMES = (
    Home(
        "gw-17",
        "Tumba norra",
        (clock_time(2, 0), clock_time(4, 30)),
        label="Greta Andersson",
        camera_serial="PH-CAM-0017",
    ),
    Home("gw-18", "Tumba norra", (clock_time(1, 30),), label="Sven Berg"),
    Home("gw-19", "Hallunda", (clock_time(3, 0),), label="Aino Korhonen"),
    Home("gw-20", "Hallunda", (), label="Karl Lind", active=False),
)
STAFF = {
    "natt": "nattpatrullen",
    "larm": "larmgruppen",
    "drift": "operator",
    "it": "it_funktion",
    "tillsyn": "digital_tillsyn",
}


class NightClock:
    """Real time shifted to a chosen night: timers (settle, deadlines) fall due as the
    test runs, and the routine sees the night."""

    def __init__(self, start: datetime) -> None:
        self._start, self._t0 = start, time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)


Clock = FakeClock | NightClock


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll ``check`` until it returns something true, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Stack:
    central: Central
    clock: Clock
    broker: Broker
    gateways: dict[str, BrokerClient] = field(default_factory=dict)
    seq: int = 0
    agents: set[str] = field(default_factory=set)
    """Gateways whose real agent runs: the test publishes nothing for them."""

    @property
    def url(self) -> str:
        assert self.central.web is not None
        return f"http://127.0.0.1:{self.central.web.port}"

    def gateway(self, name: str) -> BrokerClient:
        if name not in self.gateways:
            self.gateways[name] = self.broker.client(name, client_id=f"{name}-{new_id()}")
        return self.gateways[name]

    def state(self, name: str, camera: str, router: str = "up", restarts: int = 0) -> None:
        """Publish a retained state snapshot, as the agent does at each heartbeat."""
        self.seq += 1
        at = format_time(self.clock())
        body = {
            "v": 1,
            "ts": at,
            "boot": "BOOT-WEB",
            "seq": self.seq,
            "agent": "0.1.0",
            "uptime_s": 100,
            "heartbeat_s": 30,
            "time_synced": True,
            "devices": {
                "router": {"health": router, "since": at, "restarts_24h": 0},
                "camera": {"health": camera, "since": at, "restarts_24h": restarts},
            },
        }
        topic = gateway_topic(TENANT, name, TopicKind.STATE)
        self.gateway(name).publish(topic, json.dumps(body), retain=True)

    def event(self, name: str, kind: str, device: str = "camera") -> None:
        self.seq += 1
        body = {
            "v": 1,
            "id": new_id(),
            "ts": format_time(self.clock()),
            "boot": "BOOT-WEB",
            "seq": self.seq,
            "type": kind,
            "device": device,
            "detail": {"attempts": 3} if kind == "restart_exhausted" else {},
        }
        self.gateway(name).publish(gateway_topic(TENANT, name, TopicKind.EVENTS), json.dumps(body))

    def heartbeat_all(self, camera: dict[str, str]) -> None:
        for home in HOMES:
            if home.active and home.gateway not in self.agents:
                self.state(home.gateway, camera.get(home.gateway, "up"))

    def settle(self) -> None:
        """Wait until ingest applied everything published so far."""
        ingest = self.central.ingest
        assert ingest is not None
        time.sleep(0.05)
        wait_for("ingest to drain", ingest.idle.is_set)

    def clear_retained(self) -> None:
        for home in HOMES:
            for kind in (TopicKind.STATE, TopicKind.AVAILABILITY):
                topic = gateway_topic(TENANT, home.gateway, kind)
                self.gateway(home.gateway).publish(topic, b"", retain=True)


def _config(broker: Broker, tmp: Path, servers: Servers, policy: Path | None) -> dict[str, Any]:
    """The central service tests' configuration, plus the IT function's address and
    the dashboard on a free port."""
    db_url = f"sqlite:///{tmp / 'central.db'}"
    data = make_config(broker, db_url, servers.smtp.port, servers.sms.url, tmp)
    data["contacts"]["roles"]["it_funktion"] = {"email": [IT_MAIL]}
    data["web"] = {"port": 0, "live_poll_s": 0.2, "metrics_token": "m" * 20}
    if policy is not None:
        data["policy"] = str(policy)
    return data


@dataclass(frozen=True)
class Servers:
    """The real SMTP and SMS servers the service sends to (tests/central/servers.py)."""

    smtp: SmtpSink
    sms: SmsSink


def _seed(db_url: str) -> None:
    store = Store(db_url)
    store.upgrade()
    with store.session() as session:
        registry_rows.replace(session, TENANT, list(HOMES))
    accounts = Accounts(store, CHEAP)
    for username, role in STAFF.items():
        accounts.add(
            username,
            role,
            PASSWORD,
            now=datetime.now().astimezone(),
            by="test",
            display_name=username.capitalize(),
        )
    store.close()


@contextmanager
def running_stack(
    broker: Broker, tmp: Path, clock: Clock, servers: Servers, policy: Path | None = None
) -> Iterator[Stack]:
    """The service with its dashboard on ``clock``; everything closed afterwards."""
    data = _config(broker, tmp, servers, policy)
    _seed(data["database"]["url"])
    central = Central(parse_config(data), clock).start()
    loop = threading.Thread(target=central.run_until_stopped, daemon=True)
    loop.start()
    stack = Stack(central, clock, broker)
    try:
        stack.clear_retained()
        yield stack
    finally:
        stack.clear_retained()
        for client in stack.gateways.values():
            client.close()
        central.stop()
        loop.join(timeout=10)
        central.close()

"""Simulated homes against the real broker: power cuts, their return, and a broker restart."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from protocol import Event
from sim.broker import Broker, BrokerClient, Received
from sim.clock import ScaledClock, parse_local
from sim.fleet import Account, Fleet, Timing
from sim.scenario import FleetTarget, Step

HOMES = ["gw-01", "gw-02"]
FAST = Timing(probe_interval_s=0.2, probe_timeout_s=0.1, heartbeat_s=1, keepalive_s=5)


def _until(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise TimeoutError(f"not within {timeout} s")


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Broker, Fleet, BrokerClient]]:
    with Broker(tmp_path / "broker") as broker:
        broker.add_gateways("botkyrka", HOMES)
        broker.add_central(["botkyrka"])
        broker.start()
        url = f"mqtts://{broker.host}:{broker.port}"
        accounts = {}
        for g in HOMES:
            c = broker.account(g)
            accounts[g] = Account(url, c.username, c.password, c.cafile, c.certfile, c.keyfile)
        clock = ScaledClock(parse_local("2027-01-12 13:55"), 10)
        watcher = broker.client("central", client_id="test-watch")
        watcher.subscribe("driftvakt/v1/#")
        fleet = Fleet(tmp_path / "homes", accounts, clock=clock, speed=10, timing=FAST)
        try:
            yield broker, fleet.start(), watcher
        finally:
            fleet.close()
            watcher.close()


class _Seen:
    def __init__(self, client: BrokerClient) -> None:
        self.client, self.messages = client, list[Received]()

    def payloads(self, gateway: str, kind: str) -> list[bytes]:
        self.messages += self.client.received()
        topic = f"driftvakt/v1/botkyrka/{gateway}/{kind}"
        return [m.payload for m in self.messages if m.topic == topic]

    def events(self, gateway: str) -> list[Event]:
        return [Event.model_validate_json(p) for p in self.payloads(gateway, "events")]


def test_fleet_power_cut_sends_the_last_will_and_power_back_boots_a_new_agent(
    setup: tuple[Broker, Fleet, BrokerClient],
) -> None:
    _, fleet, watcher = setup
    seen = _Seen(watcher)
    _until(lambda: any(e.type == "device_up" for e in seen.events("gw-01")))
    home = fleet["gw-01"]
    fleet.power_off(["gw-01"])
    _until(lambda: seen.payloads("gw-01", "availability")[-1:] == [b"offline"])
    assert not home.camera.answering and not home.router.answering
    assert "agent_stopping" not in [e.type for e in seen.events("gw-01")]
    fleet.power_on(["gw-01"])
    _until(lambda: seen.payloads("gw-01", "availability")[-1:] == [b"online"])
    _until(lambda: len({e.boot for e in seen.events("gw-01") if e.type == "agent_started"}) == 2)
    assert home.camera.wait_answering(5)
    assert seen.payloads("gw-02", "availability") == [b"online"]


def test_fleet_broker_restart_homes_reconnect_on_their_own(
    setup: tuple[Broker, Fleet, BrokerClient],
) -> None:
    broker, fleet, _ = setup
    _until(lambda: all(h.agent is not None and h.agent.link.connected for h in fleet))

    def restart(down: timedelta) -> None:
        broker.stop()
        time.sleep(down.total_seconds() / 10)
        broker.start()

    down = timedelta(seconds=5)
    step = Step(parse_local("2027-01-12 14:00"), "broker_restart", (), None, down, "")
    FleetTarget(fleet, restart).apply(step)
    _until(lambda: all(h.agent is not None and h.agent.link.connected for h in fleet), 30)
    # Mosquitto ran without persistence: what is retained now, the agents said again.
    with broker.client("central", client_id="test-after") as after:
        after.subscribe("driftvakt/v1/botkyrka/+/availability")
        retained: dict[str, bytes] = {}

        def both() -> bool:
            retained.update({m.topic.split("/")[3]: m.payload for m in after.received()})
            return len(retained) == 2

        _until(both, 5)
    assert retained == {"gw-01": b"online", "gw-02": b"online"}


def test_fleet_two_fleets_on_one_machine_never_answer_each_others_probes(tmp_path: Path) -> None:
    """The demo beside ``make test``: a dead camera in one must not be answered by the
    other's live camera on the same address and fixed port."""
    nobody = Account("mqtt://127.0.0.1:1", "u", "p")
    first = Fleet(tmp_path / "a", dict.fromkeys(HOMES, nobody))
    second = Fleet(tmp_path / "b", dict.fromkeys(HOMES, nobody))
    try:
        dead, alive = first["gw-01"].camera, second["gw-01"].camera
        assert dead.ports == alive.ports  # the same fixed port, as a real camera has
        alive.power(True)
        assert alive.wait_answering(5)
        with socket.create_connection((alive.address, alive.ports["rtsp"]), timeout=2):
            pass
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((dead.address, dead.ports["rtsp"]), timeout=2)
    finally:
        first.close()
        second.close()
    again = Fleet(tmp_path / "c", dict.fromkeys(HOMES, nobody))
    assert again["gw-01"].camera.address == dead.address  # a closed fleet's block is free
    again.close()

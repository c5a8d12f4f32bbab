"""The agent process end to end: real Mosquitto, real sockets, fake devices on relay pin files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sim.broker import Broker
from tests.agent_link.conftest import LINK_GATEWAYS
from tests.agent_link.home import CAMERA_PIN, AgentHome, Watcher

HANG_CYCLE = ["device_down", "restart_started", "restart_succeeded", "device_up"]


@pytest.fixture
def make_home(tmp_path: Path) -> Iterator[Callable[..., AgentHome]]:
    homes: list[AgentHome] = []

    def make(broker: Broker, gateway: str, **options: object) -> AgentHome:
        home = AgentHome(tmp_path / f"home-{len(homes)}", broker, gateway, **options)  # type: ignore[arg-type]
        homes.append(home)
        return home

    yield make
    for home in homes:
        home.close()


def _up(watcher: Watcher) -> bool:
    return {"router", "camera"} <= {e.device for e in watcher.events() if e.type == "device_up"}


def test_agent_cycles_hung_camera_and_reports_in_order(
    link_broker: Broker, make_home: Callable[..., AgentHome]
) -> None:
    home = make_home(link_broker, LINK_GATEWAYS[8])
    with link_broker.client("central") as client:
        watcher = Watcher(client, home.gateway)
        home.start()
        watcher.wait(_up)
        home.hang_camera()
        watcher.wait(lambda w: w.types("camera")[-4:] == HANG_CYCLE)
        assert home.camera.boots == 2  # the relay really cut its power
        assert home.stop() == 0
        watcher.wait(lambda w: w.availability()[-1:] == [b"offline"])
    assert watcher.types("camera") == ["device_up", *HANG_CYCLE]
    assert watcher.types(None) == ["agent_started", "agent_stopping"]
    assert watcher.events(None)[-1].detail == {"reason": "sigterm"}
    assert not home.relay_cut(CAMERA_PIN)

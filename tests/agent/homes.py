"""A simulated home for runner tests: fake router and camera on mock relay pins, and its config."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from agent.config import parse_config
from agent.relay import RelayBank
from agent.reporting import RecordingReporter
from agent.runner import Runner
from sim.devices import FakeDevice
from sim.pins import MockPinLine
from tests.agent.conftest import loopback

ROUTER_PIN, CAMERA_PIN = 17, 27


def config_dict(
    router: FakeDevice, camera: FakeDevice, state_file: Path, off_time_s: float = 0.2
) -> dict[str, Any]:
    """A fast configuration: 0.2 s rounds, down after 2, 0.2 s off, 1.5 s boot wait."""
    device = {"off_time_s": off_time_s, "boot_wait_s": 1.5}
    return {
        "gateway": {
            "tenant": "test",
            "id": "gw-test",
            "probe_interval_s": 0.2,
            "heartbeat_s": 1,
            "state_file": str(state_file),
        },
        "broker": {"url": "mqtt://127.0.0.1:1883", "username": "gw-test", "password": "x"},
        "relay_board": {"active_high": True},
        "health": {"down_after": 2, "arm_after": 1},
        "restart": {
            "max_consecutive": 2,
            "max_per_24h": 10,
            "min_gap_s": 0,
            "backoff_base_s": 0.1,
            "backoff_max_s": 0.2,
        },
        "devices": {
            "router": {
                **device,
                "relay_pin": ROUTER_PIN,
                "probes": [
                    {
                        "kind": "http",
                        "host": router.address,
                        "port": router.ports["http"],
                        "timeout_s": 0.15,
                    }
                ],
            },
            "camera": {
                **device,
                "relay_pin": CAMERA_PIN,
                "depends_on": "router",
                "probes": [
                    {
                        "kind": "rtsp",
                        "host": camera.address,
                        "port": camera.ports["rtsp"],
                        "timeout_s": 0.15,
                    }
                ],
            },
        },
    }


@dataclass
class Home:
    router: FakeDevice
    camera: FakeDevice
    factory: MockFactory
    reporter: RecordingReporter
    runner: Runner
    thread: threading.Thread
    errors: list[BaseException]

    def camera_events(self) -> list[str]:
        return [t.value for t in self.reporter.types("camera")]

    def router_events(self) -> list[str]:
        return [t.value for t in self.reporter.types("router")]

    def pin_states(self, pin: int) -> list[bool]:
        return [s.state for s in self.factory.pin(pin).states]


@contextmanager
def running_home(
    factory: MockFactory,
    tmp_path: Path,
    off_time_s: float = 0.2,
    reporter: RecordingReporter | None = None,
) -> Iterator[Home]:
    """Relays first (power on), then the fake devices on them, then the runner in a thread."""
    with (
        FakeDevice("router", loopback(), services=("http",), boot_delay_s=0.1) as router,
        FakeDevice(
            "camera", loopback(), services=("rtsp",), boot_delay_s=0.1, upstream=router
        ) as camera,
    ):
        config = parse_config(
            config_dict(router, camera, tmp_path / "state.json", off_time_s), tmp_path
        )
        relays = RelayBank.from_config(config, pin_factory=factory)
        router.attach(MockPinLine(factory.pin(ROUTER_PIN), active_high=True))
        camera.attach(MockPinLine(factory.pin(CAMERA_PIN), active_high=True))
        assert router.wait_answering(5) and camera.wait_answering(5)
        reporter = reporter or RecordingReporter()
        runner = Runner(config, reporter, relays)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                runner.run()
            except Exception as exc:
                errors.append(exc)

        thread = threading.Thread(target=run, name="runner")
        thread.start()
        try:
            yield Home(router, camera, factory, reporter, runner, thread, errors)
        finally:
            runner.stop()
            thread.join(10)
            relays.close()

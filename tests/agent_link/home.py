"""AgentHome: the real agent process in a simulated home, for integration tests and the benchmark.

A fake router and camera (sim/devices.py) answer HTTP, RTSP and TCP on their
own loopback addresses and take their power from relay pin files
(``GPIOZERO_PIN_FACTORY=driftvakt-file``), which the agent, started as
``driftvakt-agent run`` in its own process, drives. Pin files outlive the
agent, as a real pin's level outlives a killed process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protocol import Event, TopicKind, gateway_topic
from sim.broker import Broker, BrokerClient, Received
from sim.devices import FakeDevice, Mode
from sim.pins import FilePinLine, pin_file, read_pin_file

TENANT = "botkyrka"
ROUTER_PIN, CAMERA_PIN = 17, 27

FAST = {
    "probe_interval_s": 0.4,
    "probe_timeout_s": 0.15,
    "heartbeat_s": 5,
    "down_after": 2,
    "arm_after": 1,
    "max_consecutive": 2,
    "max_per_24h": 20,
    "off_time_s": 0.2,
    "boot_wait_s": 1.5,
    "boot_delay_s": 0.2,
}
"""Timings that make a whole restart cycle take about two seconds."""


def agent_command(config: Path, *args: str) -> list[str]:
    """``driftvakt-agent ARGS --config CONFIG`` from this interpreter's environment."""
    return [str(Path(sys.executable).with_name("driftvakt-agent")), *args, "--config", str(config)]


@dataclass
class AgentHome:
    """One home: fake devices, their pins, an agent config and the agent process.

    :param addresses: loopback addresses of the router and the camera.
    :param timing: overrides of :data:`FAST`.
    """

    root: Path
    broker: Broker
    gateway: str
    addresses: tuple[str, str] = ("127.0.0.2", "127.0.0.3")
    timing: dict[str, float] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.t = {**FAST, **self.timing}
        self.pins = self.root / "pins"
        self.pins.mkdir(parents=True, exist_ok=True)
        delay = self.t["boot_delay_s"]
        self.router = FakeDevice(
            "router", self.addresses[0], services=("http",), boot_delay_s=delay
        )
        self.camera = FakeDevice(
            "camera", self.addresses[1], services=("rtsp", "tcp"), boot_delay_s=delay
        )
        self.router.attach(FilePinLine(pin_file(self.pins, ROUTER_PIN), active_high=True))
        self.camera.attach(FilePinLine(pin_file(self.pins, CAMERA_PIN), active_high=True))
        self.config = self.root / "agent.toml"
        self.config.write_text(self._toml())
        self.log = self.root / "agent.log"

    def _toml(self) -> str:
        creds, t = self.broker.account(self.gateway), self.t
        router = f'{{kind = "http", host = "{self.router.address}", '
        router += f"port = {self.router.ports['http']}, timeout_s = {t['probe_timeout_s']}}}"
        camera = f'{{kind = "rtsp", host = "{self.camera.address}", '
        camera += f"port = {self.camera.ports['rtsp']}, timeout_s = {t['probe_timeout_s']}}}"
        return f"""
[gateway]
tenant = "{TENANT}"
id = "{self.gateway}"
probe_interval_s = {t["probe_interval_s"]}
heartbeat_s = {int(t["heartbeat_s"])}
outbox = "outbox.sqlite3"
state_file = "state.json"

[broker]
url = "mqtts://{self.broker.host}:{self.broker.port}"
username = "{creds.username}"
password = "{creds.password}"
ca_file = "{creds.cafile}"
cert_file = "{creds.certfile}"
key_file = "{creds.keyfile}"
keepalive_s = 5

[relay_board]
active_high = true
wiring = "nc"
pin_factory = "driftvakt-file"

[health]
down_after = {int(t["down_after"])}
arm_after = {int(t["arm_after"])}

[restart]
max_consecutive = {int(t["max_consecutive"])}
max_per_24h = {int(t["max_per_24h"])}
min_gap_s = 0
backoff_base_s = 0
backoff_max_s = 0

[devices.router]
relay_pin = {ROUTER_PIN}
off_time_s = {t["off_time_s"]}
boot_wait_s = {t["boot_wait_s"]}
probes = [{router}]

[devices.camera]
relay_pin = {CAMERA_PIN}
depends_on = "router"
off_time_s = {t["off_time_s"]}
boot_wait_s = {t["boot_wait_s"]}
probes = [{camera}]
"""

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DRIFTVAKT_PIN_DIR": str(self.pins),
            "GPIOZERO_PIN_FACTORY": "driftvakt-file",
            **self.extra_env,
        }

    def start(self) -> subprocess.Popen[bytes]:
        """Start ``driftvakt-agent run`` (stdout and stderr to ``agent.log``)."""
        assert self.proc is None or self.proc.poll() is not None, "agent already running"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                agent_command(self.config, "run"),
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self.proc

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Signal the agent and wait for it; returns its exit code."""
        assert self.proc is not None
        self.proc.send_signal(signum)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no clean-up runs, the pins keep whatever level they had."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(5)

    def relay_cut(self, pin: int) -> bool:
        """Whether the relay on ``pin`` cuts its device's power (active-high coil energised)."""
        function, level = read_pin_file(pin_file(self.pins, pin))
        return function == "output" and level

    def hang_camera(self) -> None:
        self.camera.set_mode(Mode.HANG)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.router.close()
        self.camera.close()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_until(check: Callable[[], Any], timeout: float, poll: float = 0.02) -> Any:
    """Poll ``check`` until it returns something true, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"{check} not true within {timeout} s")


class Watcher:
    """What the central service would see of one gateway: every message, in arrival order."""

    def __init__(self, client: BrokerClient, gateway: str) -> None:
        self.client, self.gateway = client, gateway
        self.messages: list[Received] = []
        client.subscribe(f"driftvakt/v1/{TENANT}/{gateway}/#")

    def topic(self, kind: TopicKind) -> str:
        return gateway_topic(TENANT, self.gateway, kind)

    def events(self, device: str | None = "*") -> list[Event]:
        """Events received so far (duplicates included), of one device if given."""
        self.messages += self.client.received()
        topic = self.topic(TopicKind.EVENTS)
        events = [Event.model_validate_json(m.payload) for m in self.messages if m.topic == topic]
        return [e for e in events if device == "*" or e.device == device]

    def types(self, device: str | None = "*") -> list[str]:
        return [e.type for e in self.events(device)]

    def availability(self) -> list[bytes]:
        self.messages += self.client.received()
        topic = self.topic(TopicKind.AVAILABILITY)
        return [m.payload for m in self.messages if m.topic == topic]

    def wait(self, check: Callable[[Watcher], Any], timeout: float = 20.0) -> Any:
        """Poll until ``check(self)`` is true; the failure names the events seen."""
        try:
            return wait_until(lambda: check(self), timeout)
        except TimeoutError:
            seen = [(e.device, e.type) for e in self.events()]
            raise TimeoutError(f"not seen within {timeout} s; events: {seen}") from None

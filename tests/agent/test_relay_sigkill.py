"""An agent killed with SIGKILL in the middle of a cut: the next start powers the device again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config import ProbeModel, compile_probe
from agent.probes import probe_target
from agent.probes.neighbours import NeighbourTable
from sim.pins import read_pin_file
from tests.agent.conftest import loopback, spawn_device
from tests.agent.test_sim_devices import wait_until

CONFIG = """\
[gateway]
tenant = "test"
id = "gw-kill"
probe_interval_s = 0.5
state_file = "state.json"

[broker]
url = "mqtt://127.0.0.1:1883"
username = "gw-kill"
password = "x"

[relay_board]
active_high = true
pin_factory = "driftvakt-file"

[devices.camera]
relay_pin = 27
off_time_s = 60

[[devices.camera.probes]]
kind = "rtsp"
host = "{address}"
port = {port}
timeout_s = 0.2
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DRIFTVAKT_PIN_DIR": str(tmp_path / "pins")}


@pytest.fixture
def camera(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    address = loopback()
    pin = tmp_path / "pins" / "GPIO27"
    pin.parent.mkdir()
    proc, ports = spawn_device(address, pin, "--services", "rtsp", "--boot-delay", "0.1", env=env)
    port = ports["rtsp"]
    yield address, port
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


def test_relay_back_on_within_2_s_after_sigkill_mid_cut(
    tmp_path: Path, env: dict[str, str], camera: tuple[str, int]
) -> None:
    address, port = camera
    config = tmp_path / "agent.toml"
    config.write_text(CONFIG.format(address=address, port=port))
    pin = tmp_path / "pins" / "GPIO27"
    target = compile_probe(ProbeModel(kind="rtsp", host=address, port=port, timeout_s=0.3))
    table = NeighbourTable("/nonexistent")
    assert wait_until(lambda: probe_target(target, table).ok, 10)

    cutter = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "relay-test", "camera", "--yes", "-c", str(config)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert cutter.stdout is not None
    assert cutter.stdout.readline() == "camera: cutting power for 60 s\n"
    assert wait_until(lambda: read_pin_file(pin) == ("output", True), 5)
    assert wait_until(lambda: not probe_target(target, table).ok, 5)
    cutter.kill()
    assert cutter.wait(10) == -signal.SIGKILL
    assert read_pin_file(pin) == ("output", True), "a killed agent cannot restore: the pin holds"
    assert not probe_target(target, table).ok

    started = time.monotonic()
    agent = subprocess.Popen(
        [sys.executable, "-m", "tests.agent.agent_process", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert wait_until(lambda: read_pin_file(pin) == ("output", False), 10)
        took = time.monotonic() - started
        print(f"relay back to power-on {took:.2f} s after the agent's start")
        assert took < 2.0, f"relay back to power-on {took:.2f} s after the start"
        assert wait_until(lambda: probe_target(target, table).ok, 5)
    finally:
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(10) == 0
    assert read_pin_file(pin) == ("input", False)

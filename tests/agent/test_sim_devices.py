from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from agent.config import ProbeModel, compile_probe
from agent.probes import probe_target
from agent.probes.neighbours import NeighbourTable
from agent.relay import Relay
from sim.devices import FakeDevice, Mode
from sim.pins import FilePinFactory, FilePinLine, MockPinLine, powered
from tests.agent.conftest import loopback, spawn_device


def answers(device: FakeDevice, service: str = "http") -> bool:
    kind = "tcp" if service == "tcp" else service
    target = compile_probe(
        ProbeModel.model_validate(
            {"kind": kind, "host": device.address, "port": device.ports[service], "timeout_s": 0.5}
        )
    )
    return probe_target(target, NeighbourTable("/nonexistent")).ok


def test_sim_power_line_reads_nc_wiring() -> None:
    assert powered("output", False, active_high=True)
    assert not powered("output", True, active_high=True)
    assert powered("input", False, active_high=True)
    assert not powered("input", False, active_high=False)


def test_sim_device_boots_after_its_delay_and_dies_on_cut(factory: MockFactory) -> None:
    relay = Relay("router", 17, active_high=True, pin_factory=factory)
    with FakeDevice("router", loopback(), boot_delay_s=0.2) as device:
        started = time.monotonic()
        device.attach(MockPinLine(factory.pin(17), active_high=True))
        assert device.wait_answering(5)
        assert time.monotonic() - started >= 0.2
        relay.cut()
        assert not device.answering
        assert not answers(device)
        relay.restore()
        assert device.wait_answering(5)
        assert answers(device)
        assert device.boots == 2
    relay.close()


def test_sim_dead_device_never_answers(factory: MockFactory) -> None:
    relay = Relay("camera", 27, active_high=True, pin_factory=factory)
    with FakeDevice("camera", loopback(), boot_delay_s=0.01, mode=Mode.DEAD) as device:
        device.attach(MockPinLine(factory.pin(27), active_high=True))
        relay.cut()
        relay.restore()
        assert not device.wait_answering(0.3)
        assert not answers(device)
    relay.close()


def test_sim_flapping_device_comes_and_goes(factory: MockFactory) -> None:
    relay = Relay("camera", 27, active_high=True, pin_factory=factory)
    seen: list[bool] = []
    with FakeDevice(
        "camera", loopback(), boot_delay_s=0.01, mode=Mode.FLAPPING, flap_s=0.1
    ) as device:
        device.attach(MockPinLine(factory.pin(27), active_high=True))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (
            True in seen and False in seen[seen.index(True) :]
        ):
            seen.append(device.answering)
            threading.Event().wait(0.02)
        assert True in seen and False in seen[seen.index(True) :]
    relay.close()


def test_sim_device_process_follows_a_pin_file(tmp_path: Path) -> None:
    address = loopback()
    pins = FilePinFactory(tmp_path)
    relay = Relay("camera", 27, active_high=True, pin_factory=pins)
    proc, ports = spawn_device(address, tmp_path / "GPIO27", "--boot-delay", "0.05")
    try:
        target = compile_probe(
            ProbeModel(kind="rtsp", host=address, port=ports["rtsp"], timeout_s=0.5)
        )
        table = NeighbourTable("/nonexistent")
        assert wait_until(lambda: probe_target(target, table).ok, 5)
        relay.cut()
        assert wait_until(lambda: not probe_target(target, table).ok, 5)
        relay.restore()
        assert wait_until(lambda: probe_target(target, table).ok, 5)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        relay.close()


def test_sim_file_line_sees_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "GPIO22"
    line = FilePinLine(path, active_high=True, poll_s=0.01)
    changes: list[bool] = []
    line.watch(changes.append)
    tmp = tmp_path / "x"
    tmp.write_text("output 1\n")
    os.replace(tmp, path)
    assert wait_until(lambda: changes == [True, False], 5)
    line.close()


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    """Poll ``check`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        threading.Event().wait(0.02)
    return False

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from agent.probes import probe_all
from agent.relay import RelayBank
from agent.reporting import RecordingReporter
from agent.runner import Runner, SteadyClock
from protocol import DeviceReport, EventType, Health
from sim.devices import Mode
from tests.agent.fakehome import T0, result
from tests.agent.homes import CAMERA_PIN, ROUTER_PIN, running_home

E = EventType


def both_up(reporter: RecordingReporter) -> bool:
    return len(reporter.types("router")) >= 1 and len(reporter.types("camera")) >= 1


def test_runner_camera_hang_is_cycled_and_comes_back(factory: MockFactory, tmp_path: Path) -> None:
    with running_home(factory, tmp_path) as home:
        assert home.reporter.wait_until(both_up, 10)
        home.camera.set_mode(Mode.HANG)
        assert home.reporter.wait_for(E.DEVICE_UP, "camera", 20, count=2)
        assert home.camera_events() == [
            "device_up",
            "device_down",
            "restart_started",
            "restart_succeeded",
            "device_up",
        ]
        assert home.router_events() == ["device_up"]
        assert home.pin_states(CAMERA_PIN) == [False, True, False]
        assert home.pin_states(ROUTER_PIN) == [False]
        assert home.camera.boots == 2
        started = next(e for e in home.reporter.events if e.type is E.RESTART_STARTED)
        assert started.detail == {"attempt": 1, "devices": ["camera"]}


def test_runner_dead_camera_ends_failed_with_one_exhaustion(
    factory: MockFactory, tmp_path: Path
) -> None:
    with running_home(factory, tmp_path) as home:
        assert home.reporter.wait_until(both_up, 10)
        home.camera.set_mode(Mode.DEAD)
        assert home.reporter.wait_for(E.RESTART_EXHAUSTED, "camera", 30)
        seen = len(home.reporter.states)
        assert home.reporter.wait_until(lambda r: len(r.states) >= seen + 2, 10)
        assert home.camera_events() == [
            "device_up",
            "device_down",
            "restart_started",
            "restart_failed",
            "restart_started",
            "restart_failed",
            "restart_exhausted",
        ]
        exhausted = [e for e in home.reporter.events if e.type is E.RESTART_EXHAUSTED]
        assert exhausted[0].detail == {
            "attempts": 2,
            "restarts_24h": 2,
            "reason": "2 consecutive attempts failed",
        }
        assert home.reporter.states[-1]["camera"].health is Health.FAILED
        # the second attempt cycled the router too: camera-only first, then router plus camera
        assert home.pin_states(ROUTER_PIN) == [False, True, False]
        assert home.pin_states(CAMERA_PIN) == [False, True, False, True, False]
    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved["camera"]["failed"] is True


def test_runner_router_down_makes_camera_unreachable_and_cycles_router(
    factory: MockFactory, tmp_path: Path
) -> None:
    with running_home(factory, tmp_path) as home:
        assert home.reporter.wait_until(both_up, 10)
        home.router.set_mode(Mode.HANG)
        assert home.reporter.wait_for(E.DEVICE_UP, "camera", 20, count=2)
        assert home.router_events() == [
            "device_up",
            "device_down",
            "restart_started",
            "restart_succeeded",
            "device_up",
        ]
        assert home.camera_events() == ["device_up", "device_unreachable", "device_up"]
        assert home.pin_states(ROUTER_PIN) == [False, True, False]
        assert home.pin_states(CAMERA_PIN) == [False]


def test_runner_stop_during_a_cut_restores_power_at_once(
    factory: MockFactory, tmp_path: Path
) -> None:
    with running_home(factory, tmp_path, off_time_s=60) as home:
        assert home.reporter.wait_until(both_up, 10)
        cut, restored = threading.Event(), threading.Event()
        factory.pin(CAMERA_PIN).listeners.append(
            lambda p: cut.set() if p.state else restored.set() if cut.is_set() else None
        )
        outcome = home.runner.power_cycle("camera", home.runner.clock())
        assert outcome.ok and outcome.detail == "power cycle started: camera"
        assert cut.wait(5)
        refused = home.runner.power_cycle("router", home.runner.clock())
        assert (refused.ok, refused.detail) == (False, "a power cycle is running already")
        home.runner.stop()
        assert restored.wait(2), "stopping must restore power long before the 60 s off-time"
        assert home.camera.wait_answering(5)
        assert home.pin_states(CAMERA_PIN) == [False, True, False]


def test_runner_command_refused_for_unknown_device(factory: MockFactory, tmp_path: Path) -> None:
    with running_home(factory, tmp_path) as home:
        outcome = home.runner.power_cycle("kettle", home.runner.clock())
        assert (outcome.ok, outcome.detail) == (False, "unknown device 'kettle'")
        assert home.runner.probe_now().ok


class _FailingReporter(RecordingReporter):
    """A reporter that breaks once a cut is under way, as a broken link might."""

    def state(self, devices: Mapping[str, DeviceReport], at: datetime) -> None:
        super().state(devices, at)
        if E.RESTART_STARTED in self.types():
            raise RuntimeError("reporter broke")


def test_runner_exception_in_the_loop_leaves_every_device_powered(
    factory: MockFactory, tmp_path: Path
) -> None:
    with running_home(factory, tmp_path, off_time_s=60, reporter=_FailingReporter()) as home:
        assert home.reporter.wait_until(both_up, 10)
        home.camera.set_mode(Mode.HANG)
        home.thread.join(20)
        assert not home.thread.is_alive()
        assert [str(e) for e in home.errors] == ["reporter broke"]
        assert home.pin_states(CAMERA_PIN) == [False, True, False]
        assert home.camera.wait_answering(5)


def test_runner_keeps_failed_and_budget_across_restarts(
    factory: MockFactory, tmp_path: Path
) -> None:
    with running_home(factory, tmp_path) as home:
        assert home.reporter.wait_until(both_up, 10)
        home.camera.set_mode(Mode.DEAD)
        assert home.reporter.wait_for(E.RESTART_EXHAUSTED, "camera", 30)
        config = home.runner.config
    (tmp_path / "broken").write_text("{not json")
    with RelayBank.from_config(config, pin_factory=factory) as relays:
        again = Runner(config, RecordingReporter(), relays)
        assert again.snapshot()["camera"].health is Health.FAILED
        assert again.snapshot()["camera"].restarts_24h == 2
        assert again.supervisor.health["camera"].armed
        broken = replace(config, gateway=replace(config.gateway, state_file=tmp_path / "broken"))
        fresh = Runner(broken, RecordingReporter(), relays)
        assert fresh.snapshot()["camera"].health is Health.UNKNOWN


def test_runner_steady_clock_ignores_wall_clock_steps() -> None:
    wall, ticks = [T0], [100.0]
    clock = SteadyClock(wall=lambda: wall[0], monotonic=lambda: ticks[0])
    wall[0] += timedelta(hours=5)  # the time daemon steps the clock
    ticks[0] += 30
    assert clock() == T0 + timedelta(seconds=30)


def test_runner_round_probed_before_a_command_cut_is_no_restart_success(
    factory: MockFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hold, probed, release = threading.Event(), threading.Event(), threading.Event()

    def pausing(*args: Any) -> Any:
        results = probe_all(*args)
        if hold.is_set():  # this round found the camera answering; it is judged after the cut
            hold.clear()
            probed.set()
            release.wait(10)
        return results

    monkeypatch.setattr("agent.runner.probe_all", pausing)
    with running_home(factory, tmp_path, off_time_s=1.0) as home:
        assert home.reporter.wait_until(both_up, 10)
        hold.set()
        assert probed.wait(10)
        assert home.runner.power_cycle("camera", T0).ok
        release.set()
        assert home.reporter.wait_for(E.RESTART_SUCCEEDED, "camera", 20)
        assert home.camera.boots == 2  # succeeded only once it had been cut and came back
        assert not home.factory.pin(CAMERA_PIN).state
    assert home.camera_events()[:4] == [
        "device_up",
        "restart_started",
        "restart_succeeded",
        "device_up",
    ]


def test_runner_next_round_is_due_one_interval_after_the_last_began(
    factory: MockFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    began: list[float] = []
    due: list[float] = []
    wait = Runner._wait

    def probing(*args: Any) -> Any:
        began.append(time.monotonic())
        time.sleep(0.1)  # a round that lasts, as one with a hung device lasts its timeout
        return probe_all(*args)

    def waiting(runner: Runner, until: float) -> None:
        due.append(until)
        wait(runner, until)

    monkeypatch.setattr("agent.runner.probe_all", probing)
    monkeypatch.setattr(Runner, "_wait", waiting)
    with running_home(factory, tmp_path) as home:
        assert home.reporter.wait_until(lambda _: len(due) >= 3, 10)
        interval = home.runner.config.gateway.probe_interval_s
    for start, next_due in zip(began, due, strict=False):
        assert next_due <= start + interval  # not an interval after the round ended


def test_runner_next_round_comes_at_the_retry_interval_while_a_failure_is_confirmed(
    factory: MockFactory, tmp_path: Path
) -> None:
    with running_home(factory, tmp_path) as home:
        config = home.runner.config
    gateway = replace(config.gateway, probe_interval_s=10, retry_interval_s=4)
    config = replace(config, gateway=gateway)  # down after 2 failed rounds
    up, failed = result(True), result(False)
    with RelayBank.from_config(config, pin_factory=factory) as relays:
        runner = Runner(config, RecordingReporter(), relays, clock=lambda: T0)
        runner.supervisor.observe({"router": up, "camera": up}, T0)
        assert runner.next_round_in() == 10
        runner.supervisor.observe({"router": up, "camera": failed}, T0)
        assert runner.next_round_in() == 4
        runner.supervisor.observe({"router": up, "camera": failed}, T0)
        # down (and, being armed, planned for a restart at once): nothing left to confirm
        assert runner.supervisor.health["camera"].state is Health.RESTARTING
        assert runner.next_round_in() == 10

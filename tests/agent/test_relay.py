from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from agent.cli import main
from agent.errors import RelayError, UnsafeRelayError
from agent.relay import Relay, RelayBank
from agent.restart import Plan, Policy, RestartPlanner, Timing
from agent.wiring import Wiring
from tests.agent.fakehome import T0


def bank(factory: MockFactory) -> RelayBank:
    return RelayBank(
        {
            "router": Relay("router", 17, active_high=True, pin_factory=factory),
            "camera": Relay("camera", 27, active_high=True, pin_factory=factory),
        }
    )


def plan_for(devices: tuple[str, ...], off_s: float, stagger_s: float = 0) -> Plan:
    planner = RestartPlanner(
        {d: Timing(off_s, 1) for d in devices}, Policy(restore_stagger_s=stagger_s)
    )
    return planner.plan(devices[-1:], devices, T0)


def states(factory: MockFactory, pin: int) -> list[bool]:
    return [s.state for s in factory.pin(pin).states]


def test_relay_starts_powered_with_coil_released(factory: MockFactory) -> None:
    with bank(factory) as relays:
        assert all(r.powered for r in relays.relays.values())
        assert factory.pin(17).function == "output"
        assert factory.pin(17).state is False


def test_relay_plan_cuts_then_restores_after_off_time(factory: MockFactory) -> None:
    with bank(factory) as relays:
        factory.pin(27).clear_states()
        started = time.monotonic()
        assert relays.run(plan_for(("camera",), 0.3), threading.Event())
        elapsed = time.monotonic() - started
        assert states(factory, 27) == [False, True, False]
        cut_for = factory.pin(27).states[2].timestamp
        assert 0.3 <= cut_for < 1.5
        assert elapsed >= 0.3
        assert states(factory, 17) == [False]


def test_relay_plan_restores_router_before_camera(factory: MockFactory) -> None:
    with bank(factory) as relays:
        order: list[tuple[int, bool]] = []
        for pin in (17, 27):
            factory.pin(pin).listeners.append(lambda p, n=pin: order.append((n, p.state)))
        relays.run(plan_for(("router", "camera"), 0.1, stagger_s=0.1), threading.Event())
        assert order == [(17, True), (27, True), (17, False), (27, False)]


def test_relay_stop_restores_at_once(factory: MockFactory) -> None:
    with bank(factory) as relays:
        stop, cut = threading.Event(), threading.Event()
        factory.pin(27).listeners.append(lambda p: cut.set() if p.state else None)
        outcome: list[bool] = []
        worker = threading.Thread(
            target=lambda: outcome.append(relays.run(plan_for(("camera",), 60), stop))
        )
        worker.start()
        assert cut.wait(5)
        started = time.monotonic()
        stop.set()
        worker.join(5)
        assert outcome == [False]
        assert relays.relays["camera"].powered
        assert time.monotonic() - started < 5


def test_relay_exception_while_cutting_restores_what_was_cut(factory: MockFactory) -> None:
    relays = bank(factory)
    relays.relays["camera"].close()
    with pytest.raises(RelayError, match="camera: relay is closed"):
        relays.run(plan_for(("router", "camera"), 60), threading.Event())
    assert relays.relays["router"].powered
    assert factory.pin(17).state is False
    relays.close()


class _Interrupting(threading.Event):
    def wait(self, timeout: float | None = None) -> bool:
        raise KeyboardInterrupt


def test_relay_interrupt_during_off_time_restores(factory: MockFactory) -> None:
    with bank(factory) as relays:
        with pytest.raises(KeyboardInterrupt):
            relays.run(plan_for(("router", "camera"), 60), _Interrupting())
        assert relays.relays["router"].powered and relays.relays["camera"].powered
        assert states(factory, 17)[-1] is False and states(factory, 27)[-1] is False


def test_relay_close_is_idempotent_and_restores(factory: MockFactory) -> None:
    relays = bank(factory)
    relays.relays["camera"].cut()
    assert not relays.relays["camera"].powered
    relays.close()
    relays.close()
    assert factory.pin(27).state is False
    assert factory.pin(27).function == "input"


@pytest.mark.parametrize(
    ("active_high", "wiring", "pin", "reason"),
    [
        (False, Wiring.NC, 17, "an active-low (low-level trigger) board energises its coil"),
        (True, Wiring.NO, 17, "devices on the normally-open contact lose power"),
        (True, Wiring.NC, 4, "GPIO0-8 are pulled up at power-on"),
        (True, Wiring.NC, 14, "GPIO14/15 are the UART"),
    ],
)
def test_relay_refuses_unsafe_wiring(
    factory: MockFactory, active_high: bool, wiring: Wiring, pin: int, reason: str
) -> None:
    with pytest.raises(UnsafeRelayError, match=re.escape(reason)):
        Relay("camera", pin, active_high=active_high, wiring=wiring, pin_factory=factory)
    assert factory.pins == {}


def test_relay_pin_factory_from_environment(tmp_path: Path) -> None:
    code = (
        "from agent.relay import Relay\n"
        "r = Relay('camera', 27, active_high=True)\n"
        "r.cut()\n"
        "f = r._out.pin_factory\n"
        "print(type(f).__name__, open(f.folder / 'GPIO27').read())\n"
    )
    env = {
        **os.environ,
        "GPIOZERO_PIN_FACTORY": "driftvakt-file",
        "DRIFTVAKT_PIN_DIR": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        check=True,
        timeout=30,
        capture_output=True,
        text=True,
    ).stdout
    assert out == "FilePinFactory output 1\n\n"
    # at exit gpiozero closed the device: the pin floats, which keeps an active-high coil released
    assert (tmp_path / "GPIO27").read_text() == "input 1\n"


def test_relay_test_command_asks_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = Path(__file__).parent / "data" / "good-minimal.toml"
    monkeypatch.setattr("builtins.input", lambda question: capsys.readouterr() and "n")
    assert main(["relay-test", "camera", "-c", str(data)]) == 1
    assert capsys.readouterr().out == "nothing done\n"
    assert main(["relay-test", "router", "-c", str(data), "--yes"]) == 2
    assert capsys.readouterr().err == "router: no such device with a relay (have: ['camera'])\n"


def test_relay_test_command_cycles_once(
    factory: MockFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (Path(__file__).parent / "data" / "good-minimal.toml").read_text()
    config = tmp_path / "agent.toml"
    config.write_text(
        text.replace("active_high = true", 'active_high = true\npin_factory = "mock"')
    )
    assert main(["relay-test", "camera", "-c", str(config), "--yes", "--off-time", "0.1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "camera: cutting power for 0.1 s"
    assert out[1].startswith("camera: power restored after 0.")

"""firmware-config/: relay-board profiles agree with the agent's wiring rules; units verify."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from agent.wiring import Wiring, board_problem, pin_problem
from tests.deploy.ansible_run import REPO

FIRMWARE = REPO / "firmware-config"
BOARDS = sorted((FIRMWARE / "relay-boards").glob("*.toml"))


def _board(path: Path) -> dict[str, object]:
    return tomllib.loads(path.read_text())


def test_relay_boards_at_least_two_qualify_and_one_is_refused() -> None:
    verdicts = {path.stem: _board(path)["qualifies"] for path in BOARDS}
    assert sum(v == "yes" for v in verdicts.values()) >= 2
    assert verdicts["waveshare-rpi-relay"] == "no"


@pytest.mark.parametrize("path", BOARDS, ids=[p.stem for p in BOARDS])
def test_relay_board_verdict_matches_the_agents_wiring_rules(path: Path) -> None:
    board = _board(path)
    active_high = board["active_high"]
    assert isinstance(active_high, bool)
    refused_by_agent = board_problem(active_high, Wiring.NC) is not None
    assert (board["qualifies"] == "no") == refused_by_agent
    assert board["released_pin_keeps_power"] == (not refused_by_agent)


@pytest.mark.parametrize("path", BOARDS, ids=[p.stem for p in BOARDS])
def test_relay_board_pins_are_pins_the_agent_accepts(path: Path) -> None:
    channels = _board(path)["channels"]
    assert isinstance(channels, dict) and channels
    assert {pin: pin_problem(pin) for pin in channels.values()} == dict.fromkeys(channels.values())


def test_boot_config_reference_drives_the_default_boards_pins_to_release() -> None:
    board = _board(FIRMWARE / "relay-boards" / "pimoroni-automation-hat.toml")
    channels = board["channels"]
    assert isinstance(channels, dict)
    pins = ",".join(str(p) for p in sorted(channels.values()))
    text = (FIRMWARE / "boot" / "config.txt").read_text()
    assert f"\ngpio={pins}=op,dl\n" in text  # active-high: low releases the coil
    assert "\ndtparam=watchdog=on\n" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("unit", ["driftvakt-agent.service", "driftvakt-central.service"])
def test_unit_files_verify(unit: str) -> None:
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(FIRMWARE / "systemd" / unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    # The venv is not installed on the test machine; anything else is a unit error.
    problems = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if line.strip() and "is not executable: No such file or directory" not in line
    ]
    assert problems == []

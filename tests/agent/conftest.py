from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from sim.pins import observed_mock_factory

_hosts = itertools.count(2)


def loopback() -> str:
    """A loopback address of its own for each fake device (127.77.x.y)."""
    n = next(_hosts)
    return f"127.77.{os.getpid() % 250}.{n % 250 + 2}"


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    """gpiozero's MockFactory with pins that tell fake devices about changes."""
    saved = Device.pin_factory
    factory = observed_mock_factory()
    Device.pin_factory = factory
    yield factory
    factory.reset()
    Device.pin_factory = saved


def spawn_device(
    address: str, pin_file: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], dict[str, int]]:
    """A fake device in a process of its own, powered through ``pin_file``; and its ports."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim.devices",
            "camera",
            address,
            "--pin-file",
            str(pin_file),
            *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    ports: dict[str, int] = json.loads(proc.stdout.readline())["ports"]
    return proc, ports

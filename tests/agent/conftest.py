from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

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

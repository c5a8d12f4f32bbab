"""Which relay wirings keep the devices powered when the agent is not driving the pin.

Pure rules, shared by the configuration check and :mod:`agent.relay`. The
question is always the same: when the agent stops, crashes or the Pi reboots,
the pin is released (gpiozero's ``close()`` makes it a floating input; at
power-on the SoC applies its default pulls). Does the device keep its power?

- Devices sit on the relay's normally-closed (NC) contact, so a released coil
  means power on. On the normally-open (NO) contact any stop of the agent, and
  any power loss of the Pi or of the relay board, cuts them.
- The board is active-high (high-level trigger): a floating or pulled-down
  pin leaves the coil released. An active-low (low-level trigger) board
  energises its coil exactly then.
- The pin is one that the SoC pulls down at power-on (BCM GPIO9-27 on Pi 1-4),
  and not a UART pin that the serial console drives high. GPIO0-8 are pulled
  up at power-on, which energises an active-high coil during every boot.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Wiring(StrEnum):
    """Which relay contact the device's power runs through."""

    NC = "nc"
    NO = "no"


@dataclass(frozen=True, slots=True)
class Board:
    """A relay board family the docs describe."""

    active_high: bool
    note: str


KNOWN_BOARDS: dict[str, Board] = {
    "generic-high-trigger": Board(
        True, "transistor-driven module, coil energised only while the input is high"
    ),
    "generic-low-trigger": Board(
        False, "opto-isolated module, coil energised while the input is low or floating"
    ),
}

SAFE_PINS = frozenset(range(9, 28)) - {14, 15}
"""BCM pins pulled down at power-on that no default firmware function drives high."""

UNSAFE_WIRING = (
    "devices on the normally-open contact lose power whenever the coil is released "
    "(agent stopped, Pi rebooting or unpowered); move them to the NC contact and set "
    'wiring = "nc"'
)
UNSAFE_ACTIVE_LOW = (
    "an active-low (low-level trigger) board energises its coil when the pin floats or is "
    "pulled down, as gpiozero's close() and every reboot leave it, which cuts the devices; "
    "use an active-high board (docs/agent.md, 'Relay boards')"
)


def board_problem(active_high: bool, wiring: Wiring) -> str | None:
    """Why this board and wiring would leave a device unpowered, or ``None`` if safe."""
    if wiring is not Wiring.NC:
        return UNSAFE_WIRING
    if not active_high:
        return UNSAFE_ACTIVE_LOW
    return None


def pin_problem(pin: int) -> str | None:
    """Why this BCM pin cannot drive a relay safely, or ``None`` if it can."""
    if pin in SAFE_PINS:
        return None
    if 0 <= pin <= 8:
        return (
            "GPIO0-8 are pulled up at power-on, which energises the coil and cuts the "
            "device during every boot; use a pin from GPIO9-27 except 14 and 15"
        )
    if pin in (14, 15):
        return "GPIO14/15 are the UART, driven high by a serial console; use another of GPIO9-27"
    return "not a BCM GPIO pin of the 40-pin header; use a pin from GPIO9-27 except 14 and 15"

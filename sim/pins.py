"""Mock relay pins that fake devices can watch, in one process or across processes.

gpiozero's ``MockPin`` records its states but calls nobody when an *output*
changes (``when_changed`` fires only for inputs driven by a test). Fake devices
need to lose power the moment the agent cuts it, so:

- :class:`ObservedMockPin` is a ``MockPin`` that calls listeners on every change
  of state or function; use it in-process with
  ``MockFactory(pin_class=ObservedMockPin)`` and :class:`MockPinLine`.
- :class:`FilePinFactory` (entry point ``driftvakt-file``, so
  ``GPIOZERO_PIN_FACTORY=driftvakt-file`` selects it) writes each pin's
  function and level to a file in ``$DRIFTVAKT_PIN_DIR``; a fake device in
  another process watches it with :class:`FilePinLine`. The file outlives the
  process that wrote it, as a real pin's level outlives a killed agent: this is
  what the SIGKILL test needs.

A line turns a pin into "the device has power": devices sit on the relay's NC
contact, so they are powered while the coil is released. A floating pin (an
input, as gpiozero's ``close()`` leaves it) releases an active-high board's
coil and energises an active-low board's (docs/agent.md, "Relay boards").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from gpiozero.pins.mock import MockFactory, MockPin

PIN_DIR_ENV = "DRIFTVAKT_PIN_DIR"

Listener = Callable[[bool], None]


def powered(function: str, level: bool, active_high: bool) -> bool:
    """Whether a device on the NC contact of a relay on this pin has power."""
    if function != "output":
        return active_high
    energised = level == active_high
    return not energised


class PowerLine(Protocol):
    """A device's power supply, as the fake device sees it."""

    def watch(self, listener: Listener) -> None:
        """Call ``listener(powered)`` now and on every change."""

    def close(self) -> None:
        """Stop watching."""


class ObservedMockPin(MockPin):  # type: ignore[misc]
    """A ``MockPin`` that tells its listeners about every change of state or function."""

    def __init__(self, factory: Any, info: Any) -> None:
        self.listeners: list[Callable[[ObservedMockPin], None]] = []
        super().__init__(factory, info)

    def _change_state(self, value: bool) -> bool:
        changed: bool = super()._change_state(value)
        if changed:
            self._notify()
        return changed

    def _set_function(self, value: str) -> None:
        before = getattr(self, "_function", None)
        super()._set_function(value)
        if before is not None and before != value:
            self._notify()

    def _notify(self) -> None:
        for listener in list(getattr(self, "listeners", [])):
            listener(self)


def observed_mock_factory() -> MockFactory:
    """A ``MockFactory`` whose pins are :class:`ObservedMockPin`."""
    return MockFactory(pin_class=ObservedMockPin)


class MockPinLine:
    """Power from an :class:`ObservedMockPin` in this process."""

    def __init__(self, pin: ObservedMockPin, *, active_high: bool) -> None:
        self.pin, self.active_high = pin, active_high
        self._listeners: list[Listener] = []
        pin.listeners.append(self._changed)

    def watch(self, listener: Listener) -> None:
        self._listeners.append(listener)
        listener(self._powered())

    def close(self) -> None:
        if self._changed in self.pin.listeners:
            self.pin.listeners.remove(self._changed)

    def _powered(self) -> bool:
        return powered(self.pin.function, bool(self.pin.state), self.active_high)

    def _changed(self, _pin: ObservedMockPin) -> None:
        now = self._powered()
        for listener in list(self._listeners):
            listener(now)


def pin_dir() -> Path:
    """Where file-backed pins live: ``$DRIFTVAKT_PIN_DIR``."""
    value = os.environ.get(PIN_DIR_ENV)
    if not value:
        raise RuntimeError(f"set {PIN_DIR_ENV} to a folder for the driftvakt-file pin factory")
    return Path(value)


def pin_file(folder: Path, number: int) -> Path:
    return folder / f"GPIO{number}"


def read_pin_file(path: Path) -> tuple[str, bool]:
    """(function, level) as written by a :class:`FilePin`; a missing file is an untouched input."""
    try:
        function, level = path.read_text().split()
    except (OSError, ValueError):
        return "input", False
    return function, level == "1"


class FilePin(MockPin):  # type: ignore[misc]
    """A ``MockPin`` that mirrors its function and level to a file (written atomically)."""

    def _change_state(self, value: bool) -> bool:
        changed: bool = super()._change_state(value)
        self._write()
        return changed

    def _set_function(self, value: str) -> None:
        super()._set_function(value)
        self._write()

    def _write(self) -> None:
        path = pin_file(self.factory.folder, int(self.info.name.removeprefix("GPIO")))
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(f"{self._function} {int(self._state)}\n")
        os.replace(tmp, path)


class FilePinFactory(MockFactory):  # type: ignore[misc]
    """Mock pins mirrored to files in ``folder`` (default ``$DRIFTVAKT_PIN_DIR``)."""

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__(pin_class=FilePin)
        self.folder = folder or pin_dir()
        self.folder.mkdir(parents=True, exist_ok=True)


class FilePinLine:
    """Power from a pin file written by another process; polled every ``poll_s`` seconds."""

    def __init__(self, path: Path, *, active_high: bool, poll_s: float = 0.02) -> None:
        self.path, self.active_high, self.poll_s = path, active_high, poll_s
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._last = self._powered()
        self._thread = threading.Thread(target=self._poll, name=f"pin-{path.name}", daemon=True)
        self._thread.start()

    def watch(self, listener: Listener) -> None:
        self._listeners.append(listener)
        listener(self._last)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def _powered(self) -> bool:
        function, level = read_pin_file(self.path)
        return powered(function, level, self.active_high)

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_s):
            now = self._powered()
            if now != self._last:
                self._last = now
                for listener in list(self._listeners):
                    listener(now)

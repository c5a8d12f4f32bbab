"""The relays that cut and restore the devices' power, through gpiozero.

One :class:`Relay` per device wraps a ``DigitalOutputDevice`` with an explicit
``active_high`` and ``initial_value=False``: the coil released, the device on
the relay's NC contact powered. :class:`RelayBank` builds every relay before
anything else happens at start, so a relay left energised by a killed agent is
released within moments of the next start.

A cut is released by the code path that made it: :meth:`RelayBank.run` carries
out a :class:`~agent.restart.Plan` and restores in ``finally``; its off-time is
waited on a ``threading.Event`` (never ``time.sleep``), so setting the stop
event (SIGTERM, SIGINT) restores power at once. Python cannot restore power
after SIGKILL or a crash of the Pi: that is the job of NC wiring and the boot
pin states (docs/agent.md, "Relay boards"); the agent refuses wirings where a
released pin would cut a device (:mod:`agent.wiring`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import entry_points
from types import TracebackType
from typing import Any

from gpiozero import DigitalOutputDevice

from agent.errors import Problem, RelayError, UnsafeRelayError
from agent.restart import Cut, Plan, Restore, WaitUntil
from agent.settings import AgentConfig
from agent.wiring import Wiring, board_problem, pin_problem

log = logging.getLogger("driftvakt.agent.relay")

MAX_WAIT_S = 180.0
"""No single wait of a plan lasts longer, whatever the plan says: a cut must end."""


def pin_factory_named(name: str) -> Any:
    """A gpiozero pin factory by its entry-point name (``lgpio``, ``mock``, ``driftvakt-file``)."""
    for entry in entry_points(group="gpiozero_pin_factories"):
        if entry.name == name:
            return entry.load()()
    raise RelayError(f"no gpiozero pin factory named {name!r}")


class Relay:
    """The relay of one device.

    :param str device: the device it powers.
    :param int pin: BCM pin number.
    :param bool active_high: the board energises the coil on a high pin.
    :param wiring: the contact the device's power runs through; only NC is safe.
    :param pin_factory: gpiozero pin factory; ``None`` for gpiozero's default
        (which honours ``GPIOZERO_PIN_FACTORY``).
    """

    def __init__(
        self,
        device: str,
        pin: int,
        *,
        active_high: bool,
        wiring: Wiring = Wiring.NC,
        pin_factory: Any = None,
    ) -> None:
        problems = []
        if (reason := board_problem(active_high, wiring)) is not None:
            board = f"active_high={active_high}, wiring={wiring.value}"
            problems.append(Problem("relay_board", board, f"unsafe: {reason}"))
        if (reason := pin_problem(pin)) is not None:
            problems.append(Problem(f"devices.{device}.relay_pin", pin, f"unsafe: {reason}"))
        if problems:
            raise UnsafeRelayError(f"relay of {device}", problems)
        self.device, self.pin = device, pin
        try:
            self._out: DigitalOutputDevice | None = DigitalOutputDevice(
                pin, active_high=active_high, initial_value=False, pin_factory=pin_factory
            )
        except Exception as exc:
            raise RelayError(f"{device}: cannot drive GPIO{pin}: {exc}") from exc

    @property
    def powered(self) -> bool:
        """Whether the device has power (the coil is released)."""
        return self._out is None or not self._out.value

    def cut(self) -> None:
        """Energise the coil: the NC contact opens and the device loses power."""
        self._device().on()

    def restore(self) -> None:
        """Release the coil: the device has power again."""
        self._device().off()

    def close(self) -> None:
        """Restore power, then release the pin. Safe to call again."""
        out, self._out = self._out, None
        if out is None:
            return
        try:
            out.off()
        finally:
            out.close()

    def _device(self) -> DigitalOutputDevice:
        if self._out is None:
            raise RelayError(f"{self.device}: relay is closed")
        return self._out


class RelayBank:
    """Every device's relay, powered on from the moment it is built."""

    def __init__(self, relays: Mapping[str, Relay]) -> None:
        self.relays = dict(relays)
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: AgentConfig, pin_factory: Any = None) -> RelayBank:
        """Build every configured relay (power on), or none: a failure closes those built."""
        board = config.relay_board
        if pin_factory is None and board.pin_factory is not None:
            pin_factory = pin_factory_named(board.pin_factory)
        relays: dict[str, Relay] = {}
        try:
            for name, device in config.devices.items():
                if device.relay_pin is not None:
                    relays[name] = Relay(
                        name,
                        device.relay_pin,
                        active_high=board.active_high,
                        wiring=board.wiring,
                        pin_factory=pin_factory,
                    )
        except BaseException:
            cls(relays).close()
            raise
        return cls(relays)

    def __iter__(self) -> Iterator[str]:
        return iter(self.relays)

    def run(
        self, plan: Plan, stop: threading.Event, clock: Callable[[], float] = time.monotonic
    ) -> bool:
        """Carry out a plan's steps; power is restored however this returns.

        :param stop: set it to end the plan early; every cut device is restored at once.
        :param clock: monotonic seconds; the plan's times count from its start on this clock.
        :returns: ``True`` if the plan ran to its end, ``False`` if stopped.
        """
        started, cut = clock(), []
        with self._lock:
            try:
                for step in plan.steps:
                    if isinstance(step, Cut):
                        for name in step.devices:
                            cut.append(name)
                            self.relays[name].cut()
                    elif isinstance(step, Restore):
                        self._restore(step.devices)
                        cut = [n for n in cut if n not in step.devices]
                    elif isinstance(step, WaitUntil):
                        due = (step.when - plan.started).total_seconds() - (clock() - started)
                        if stop.wait(min(max(due, 0.0), MAX_WAIT_S)):
                            return False
                return True
            finally:
                self._restore(cut)

    def restore_all(self) -> None:
        """Power every device, whatever happened before."""
        self._restore(list(self.relays))

    def close(self) -> None:
        """Restore every device's power and release the pins. Safe to call again."""
        errors = []
        for relay in self.relays.values():
            try:
                relay.close()
            except Exception as exc:
                errors.append(f"{relay.device}: {exc}")
        if errors:
            raise RelayError("; ".join(errors))

    def __enter__(self) -> RelayBank:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _restore(self, names: list[str] | tuple[str, ...]) -> None:
        """Restore each, even if one fails; then raise what failed."""
        errors = []
        for name in names:
            try:
                self.relays[name].restore()
            except Exception as exc:
                log.error("relay of %s did not restore: %s", name, exc)
                errors.append(f"{name}: {exc}")
        if errors:
            raise RelayError("restore failed: " + "; ".join(errors))

"""The runner's way out: what the agent tells the world, independent of MQTT.

The runner decides and the reporter carries; :class:`Reporter` is the whole
interface between them, so the MQTT link (``agent/mqtt_link.py``), the CLI's
log output and the tests can each stand behind it. Implementations must not
block for long and must not raise: the runner calls them from its loop.
They fill in the envelope themselves (``v``, ``id``, ``boot``, ``seq``,
``heartbeat_s``, ``time_synced``), see docs/protocol.md.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from protocol import DeviceReport, EventType

log = logging.getLogger("driftvakt.agent")


class Reporter(Protocol):
    """Where the runner sends events and state snapshots."""

    def event(
        self,
        type: EventType,
        device: str | None,
        detail: Mapping[str, Any],
        at: datetime,
    ) -> None:
        """One event of PROTOCOL.md, in the order the runner saw it.

        :param type: what happened.
        :param device: the device it concerns, ``None`` for gateway-wide events.
        :param detail: JSON-able extra fields (``attempts``, ``reason``, ...).
        :param at: when it happened (aware UTC, the runner's clock).
        """

    def state(self, devices: Mapping[str, DeviceReport], at: datetime) -> None:
        """The devices' current state: on every change and at least every heartbeat.

        :param devices: device name to its state, for the ``devices`` field of a snapshot.
        :param at: when the snapshot was taken (aware UTC).
        """


@dataclass(frozen=True, slots=True)
class Reported:
    """One event as a :class:`RecordingReporter` saw it."""

    type: EventType
    device: str | None
    detail: Mapping[str, Any]
    at: datetime


@dataclass
class RecordingReporter:
    """Keeps everything in memory; for tests and the CLI's one-shot commands.

    Thread-safe, and :meth:`wait_for` lets a test wait on an event instead of sleeping.
    """

    events: list[Reported] = field(default_factory=list)
    states: list[dict[str, DeviceReport]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def event(
        self, type: EventType, device: str | None, detail: Mapping[str, Any], at: datetime
    ) -> None:
        with self._changed:
            self.events.append(Reported(type, device, dict(detail), at))
            self._changed.notify_all()

    def state(self, devices: Mapping[str, DeviceReport], at: datetime) -> None:
        with self._changed:
            self.states.append(dict(devices))
            self._changed.notify_all()

    def types(self, device: str | None = None) -> list[EventType]:
        """Event types so far, optionally of one device only."""
        with self._changed:
            return [e.type for e in self.events if device is None or e.device == device]

    def wait_for(self, type: EventType, device: str | None, timeout: float, count: int = 1) -> bool:
        """Wait until ``count`` events of ``type`` for ``device`` were reported.

        :param timeout: seconds.
        :returns: whether they arrived in time.
        """

        def enough() -> bool:
            seen = [e for e in self.events if e.type == type and e.device == device]
            return len(seen) >= count

        with self._changed:
            return self._changed.wait_for(enough, timeout)

    def wait_until(self, check: Callable[[RecordingReporter], bool], timeout: float) -> bool:
        """Wait until ``check(self)`` holds after some report; seconds; returns whether it did."""
        with self._changed:
            return self._changed.wait_for(lambda: check(self), timeout)


class LogReporter:
    """Writes events and state changes to the log (journald under systemd)."""

    def event(
        self, type: EventType, device: str | None, detail: Mapping[str, Any], at: datetime
    ) -> None:
        log.info("event %s device=%s detail=%s", type.value, device or "-", dict(detail))

    def state(self, devices: Mapping[str, DeviceReport], at: datetime) -> None:
        summary = " ".join(f"{name}={s.health.value}" for name, s in sorted(devices.items()))
        log.debug("state %s", summary)


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """The runner's answer to a command, for ``cmd/result`` (``ok`` and ``detail``)."""

    ok: bool
    detail: str


class CommandTarget(Protocol):
    """What the MQTT link may ask of the runner once a command is validated.

    Implemented by :class:`agent.runner.Runner`; thread-safe, callable from the
    MQTT loop thread, and quick: a power cycle runs in the background.
    """

    def power_cycle(self, device: str, now: datetime) -> CommandOutcome:
        """Cycle ``device`` (or ``"all"``) now, if the restart budget allows.

        Refused with a reason when the device is unknown, has no relay, a cycle
        is already running, or the budget or minimum gap forbids it.

        :param now: the wall time the command was judged at; the runner decides on its own
            steady clock (a stepped wall clock must not move restart gaps).
        """

    def probe_now(self) -> CommandOutcome:
        """Probe every device at once instead of at the next interval."""

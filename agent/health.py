"""Health of one device: a pure state machine with hysteresis.

Rules (PROTOCOL.md "State snapshot", DESIGN.md "Agent"):

- A device starts ``unknown``. One answered probe round makes it ``up``.
- It goes ``down`` only after ``down_after`` consecutive failed rounds
  (hysteresis: one lost ping is not an outage).
- A failed round while the device it depends on (the router) is down makes it
  ``unreachable``, not ``down``: the router explains it (Nagios host parents),
  and failures seen then do not count towards ``down``.
- Restarting is armed only once the device has been seen up ``arm_after``
  times: the agent never cycles a device it has never seen working.
- ``restarting`` lasts from the cut until the device answers (``restart_succeeded``)
  or its boot-wait deadline passes (``restart_failed``, back to ``down``).
- ``failed`` means the restart budget is spent (``restart_exhausted``, once):
  people are needed. Only an answered probe leaves it, or a ``power_cycle``
  command the budget allows (its 24 hours aged out, or a device never armed
  that had fewer attempts than ``max_consecutive``).

Every transition is a row of :data:`TABLE`; a (state, signal) pair that is not
in it raises :class:`~agent.errors.IllegalTransition`. No I/O, no clock: the
caller passes ``now`` and gets events back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

from agent.errors import IllegalTransition
from agent.results import DeviceResult
from protocol import EventType, Health

U, UP, DOWN, UNR, RST, FAIL = (
    Health.UNKNOWN,
    Health.UP,
    Health.DOWN,
    Health.UNREACHABLE,
    Health.RESTARTING,
    Health.FAILED,
)
E = EventType


class Signal(StrEnum):
    """What the health machine is told."""

    PROBE_OK = "probe_ok"
    PROBE_FAILED = "probe_failed"
    PARENT_DOWN = "parent_down"
    """A failed round while the device depended on is not up."""
    RESTART_STARTED = "restart_started"
    BOOT_WAIT_OVER = "boot_wait_over"
    BUDGET_SPENT = "budget_spent"


class Guard(Enum):
    ALWAYS = "always"
    AT_THRESHOLD = "failures >= down_after"


@dataclass(frozen=True, slots=True)
class Rule:
    target: Health
    events: tuple[EventType, ...] = ()
    guard: Guard = Guard.ALWAYS


S = Signal
_AT = Guard.AT_THRESHOLD
TABLE: dict[tuple[Health, Signal], tuple[Rule, ...]] = {
    (U, S.PROBE_OK): (Rule(UP, (E.DEVICE_UP,)),),
    (U, S.PROBE_FAILED): (Rule(DOWN, (E.DEVICE_DOWN,), _AT), Rule(U)),
    (U, S.PARENT_DOWN): (Rule(UNR, (E.DEVICE_UNREACHABLE,)),),
    (U, S.RESTART_STARTED): (Rule(RST, (E.RESTART_STARTED,)),),
    (UP, S.PROBE_OK): (Rule(UP),),
    (UP, S.PROBE_FAILED): (Rule(DOWN, (E.DEVICE_DOWN,), _AT), Rule(UP)),
    (UP, S.PARENT_DOWN): (Rule(UNR, (E.DEVICE_UNREACHABLE,)),),
    (UP, S.RESTART_STARTED): (Rule(RST, (E.RESTART_STARTED,)),),
    (DOWN, S.PROBE_OK): (Rule(UP, (E.DEVICE_UP,)),),
    (DOWN, S.PROBE_FAILED): (Rule(DOWN),),
    (DOWN, S.PARENT_DOWN): (Rule(UNR, (E.DEVICE_UNREACHABLE,)),),
    (DOWN, S.RESTART_STARTED): (Rule(RST, (E.RESTART_STARTED,)),),
    (DOWN, S.BUDGET_SPENT): (Rule(FAIL, (E.RESTART_EXHAUSTED,)),),
    (UNR, S.PROBE_OK): (Rule(UP, (E.DEVICE_UP,)),),
    (UNR, S.PROBE_FAILED): (Rule(DOWN, (E.DEVICE_DOWN,), _AT), Rule(UNR)),
    (UNR, S.PARENT_DOWN): (Rule(UNR),),
    (UNR, S.RESTART_STARTED): (Rule(RST, (E.RESTART_STARTED,)),),
    (RST, S.PROBE_OK): (Rule(UP, (E.RESTART_SUCCEEDED, E.DEVICE_UP)),),
    (RST, S.PROBE_FAILED): (Rule(RST),),
    (RST, S.PARENT_DOWN): (Rule(RST),),
    (RST, S.BOOT_WAIT_OVER): (Rule(DOWN, (E.RESTART_FAILED,)),),
    (FAIL, S.PROBE_OK): (Rule(UP, (E.DEVICE_UP,)),),
    (FAIL, S.PROBE_FAILED): (Rule(FAIL),),
    (FAIL, S.PARENT_DOWN): (Rule(FAIL),),
    (FAIL, S.RESTART_STARTED): (Rule(RST, (E.RESTART_STARTED,)),),
}


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something that happened to a device, for :meth:`agent.reporting.Reporter.event`."""

    type: EventType
    device: str
    at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class DeviceHealth:
    """The health of one device, fed with probe results and the clock.

    :param device: the device's name (``camera``).
    :param down_after: consecutive failed rounds before ``down``.
    :param arm_after: rounds seen up before restarts are armed.
    :param since: when the machine started (``unknown`` since then).
    """

    device: str
    down_after: int
    arm_after: int
    since: datetime
    state: Health = Health.UNKNOWN
    failures: int = 0
    seen_up: int = 0
    rtt_ms: float | None = None
    boot_deadline: datetime | None = None
    restart_detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def armed(self) -> bool:
        """Whether automatic restarts may cycle this device."""
        return self.seen_up >= self.arm_after

    @property
    def confirming(self) -> bool:
        """Failed a round but not yet ``down``: the next rounds decide, so they may come sooner."""
        return self.failures > 0 and self.state in (Health.UP, Health.UNKNOWN)

    def observe(
        self, result: DeviceResult, now: datetime, *, parent_down: bool = False
    ) -> list[DeviceEvent]:
        """Feed one probe round.

        :param parent_down: the device this one depends on is not up, so a failure is explained.
        """
        if result.ok:
            self.failures, self.rtt_ms = 0, result.rtt_ms
            self.seen_up = min(self.seen_up + 1, self.arm_after)
            return self._fire(Signal.PROBE_OK, now, {})
        self.rtt_ms = None
        if parent_down and self.state is not Health.RESTARTING:
            self.failures = 0
            return self._fire(Signal.PARENT_DOWN, now, {})
        self.failures += 1
        return self._fire(Signal.PROBE_FAILED, now, {})

    def tick(self, now: datetime) -> list[DeviceEvent]:
        """Let time pass: a restart whose boot-wait deadline has passed has failed."""
        deadline = self.boot_deadline
        if self.state is Health.RESTARTING and deadline is not None and now >= deadline:
            return self._fire(Signal.BOOT_WAIT_OVER, now, self.restart_detail)
        return []

    def restart_started(
        self, now: datetime, boot_deadline: datetime, detail: Mapping[str, Any]
    ) -> list[DeviceEvent]:
        """Power is being cut; the device has until ``boot_deadline`` to answer again."""
        self.failures, self.boot_deadline, self.restart_detail = 0, boot_deadline, detail
        return self._fire(Signal.RESTART_STARTED, now, detail)

    def budget_spent(self, now: datetime, detail: Mapping[str, Any]) -> list[DeviceEvent]:
        """The restart budget is spent: ``failed``, and one ``restart_exhausted``."""
        return self._fire(Signal.BUDGET_SPENT, now, detail)

    def _fire(self, signal: Signal, now: datetime, detail: Mapping[str, Any]) -> list[DeviceEvent]:
        rules = TABLE.get((self.state, signal))
        if rules is None:
            raise IllegalTransition(f"{self.device}: no transition from {self.state} on {signal}")
        rule = next(r for r in rules if r.guard is Guard.ALWAYS or self.failures >= self.down_after)
        if rule.target is not self.state:
            self.state, self.since = rule.target, now
            if rule.target is not Health.RESTARTING:
                self.boot_deadline = None
        return [DeviceEvent(t, self.device, now, dict(detail)) for t in rule.events]


def mermaid() -> str:
    """The transition table as a Mermaid state diagram, for docs/agent.md."""
    lines = ["stateDiagram-v2", "    [*] --> unknown"]
    for (source, signal), rules in TABLE.items():
        for rule in rules:
            if rule.target is source and not rule.events:
                continue
            guard = f" [{rule.guard.value}]" if rule.guard is not Guard.ALWAYS else ""
            events = f" / {', '.join(e.value for e in rule.events)}" if rule.events else ""
            lines.append(
                f"    {source.value} --> {rule.target.value}: {signal.value}{guard}{events}"
            )
    return "\n".join(lines)

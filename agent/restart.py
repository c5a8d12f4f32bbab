"""Restart budget and plans: when a device may be power-cycled, and how.

Rules (DESIGN.md "Agent", "Restart budget"):

- Each device has a budget: at most ``max_consecutive`` attempts without a
  success in between, at most ``max_per_24h`` power cycles of its relay in
  any 24 hours, at least ``min_gap_s`` between attempts, and an exponential
  back-off (``backoff_base_s`` doubled per failed attempt, capped at
  ``backoff_max_s``). A success resets the consecutive count; the 24-hour
  count ages out. A spent budget is final until the device answers again:
  never a reboot loop.
- The first attempt for a device cycles it alone; later attempts also cycle
  the device it depends on (camera-only first, then router plus camera).
- A plan is a list of commands for the relay shell: cut everything at once,
  wait the off-time, restore the depended-on device first, then the others
  (after ``restore_stagger_s``). Its boot deadline is the last restore plus
  the longest boot wait: the health machine calls the attempt failed then.
- A ``power_cycle`` command is judged by the same budget (spent or within
  the minimum gap: refused), without the back-off, which is for automatic tries.

Pure: no clock, no I/O; ``now`` comes in, commands go out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

DAY = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Cut:
    """Cut the power of these devices (energise their relays)."""

    devices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Restore:
    """Give these devices their power back (release their relays)."""

    devices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WaitUntil:
    """Wait until this time, measured from the plan's start (the shell uses a monotonic clock)."""

    when: datetime


Step = Cut | Restore | WaitUntil


@dataclass(frozen=True, slots=True)
class Plan:
    """One power cycle, ready for :meth:`agent.relay.RelayBank.run`.

    :param causes: the devices whose budgets this attempt is charged to.
    :param devices: every device whose power is cut, parents first.
    :param attempt: the attempt's number for its (first) cause, from 1.
    """

    causes: tuple[str, ...]
    devices: tuple[str, ...]
    started: datetime
    steps: tuple[Step, ...]
    boot_deadline: datetime
    attempt: int


@dataclass(frozen=True, slots=True)
class Timing:
    """One device's relay timing, in seconds, and what it depends on."""

    off_time_s: float
    boot_wait_s: float
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """The budget's limits; seconds."""

    max_consecutive: int = 3
    max_per_24h: int = 6
    min_gap_s: float = 300
    backoff_base_s: float = 60
    backoff_max_s: float = 3600
    restore_stagger_s: float = 0


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a device may not be cycled now.

    :param spent: the budget is spent (final until a success), not merely a wait.
    """

    reason: str
    spent: bool
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Budget:
    """One device's attempts: the consecutive count and its relay's cycles in the last day."""

    consecutive: int = 0
    last_attempt: datetime | None = None
    cycles: list[datetime] = field(default_factory=list)

    def cycles_24h(self, now: datetime) -> int:
        return sum(1 for t in self.cycles if now - t < DAY)

    def not_after(self, now: datetime) -> Budget:
        """This budget with any time ahead of ``now`` moved back to ``now``.

        A Pi has no battery clock: an agent that starts before the time daemon has
        stepped the clock can be years behind the times it saved. Those attempts
        still count (no reboot loop), but no wait may last years.
        """
        last = min(self.last_attempt, now) if self.last_attempt else None
        return Budget(self.consecutive, last, [min(t, now) for t in self.cycles])

    def to_json(self) -> dict[str, Any]:
        last = self.last_attempt.isoformat() if self.last_attempt else None
        cycles = [t.isoformat() for t in self.cycles]
        return {"consecutive": self.consecutive, "last_attempt": last, "cycles": cycles}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Budget:
        last = data.get("last_attempt")
        return cls(
            consecutive=int(data.get("consecutive", 0)),
            last_attempt=datetime.fromisoformat(last) if last else None,
            cycles=[datetime.fromisoformat(t) for t in data.get("cycles", [])],
        )


class RestartPlanner:
    """Budgets of every device with a relay, and the plans they allow."""

    def __init__(self, timings: Mapping[str, Timing], policy: Policy) -> None:
        self.timings = dict(timings)
        self.policy = policy
        self.budgets = {name: Budget() for name in timings}

    def refusal(self, device: str, now: datetime, *, command: bool = False) -> Refusal | None:
        """Why ``device`` may not be cycled at ``now``, or ``None`` if it may."""
        budget, policy = self.budgets[device], self.policy
        self._forget(budget, now)
        detail = {"attempts": budget.consecutive, "restarts_24h": budget.cycles_24h(now)}
        if budget.consecutive >= policy.max_consecutive:
            reason = f"{budget.consecutive} consecutive attempts failed"
            return Refusal(reason, True, detail)
        if budget.cycles_24h(now) >= policy.max_per_24h:
            return Refusal(f"{policy.max_per_24h} restarts within 24 h", True, detail)
        ready = self.ready_at(device, command=command)
        if ready is not None and now < ready:
            wait = (ready - now).total_seconds()
            return Refusal(f"next attempt allowed in {wait:.0f} s", False, detail)
        return None

    def ready_at(self, device: str, *, command: bool = False) -> datetime | None:
        """The earliest time of the next attempt (minimum gap, back-off unless a command)."""
        budget, policy = self.budgets[device], self.policy
        if budget.last_attempt is None:
            return None
        wait = policy.min_gap_s
        if budget.consecutive and not command:
            backoff = policy.backoff_base_s * 2 ** (budget.consecutive - 1)
            wait = max(wait, min(backoff, policy.backoff_max_s))
        return budget.last_attempt + timedelta(seconds=wait)

    def devices_for(self, device: str, *, parent_usable: bool) -> tuple[str, ...]:
        """What the next attempt for ``device`` cycles: itself first, then with its parent."""
        parent = self.timings[device].parent
        first = self.budgets[device].consecutive == 0
        if first or parent is None or parent not in self.timings or not parent_usable:
            return (device,)
        return (parent, device)

    def plan(self, causes: Sequence[str], devices: Sequence[str], now: datetime) -> Plan:
        """Record an attempt charged to ``causes`` and return its steps.

        :param devices: what to cut, each after the device it depends on.
        """
        attempt = self.budgets[causes[0]].consecutive + 1
        for name in causes:
            budget = self.budgets[name]
            budget.consecutive, budget.last_attempt = budget.consecutive + 1, now
        for name in devices:
            self.budgets[name].cycles.append(now)
        steps, last_restore = self._steps(tuple(devices), now)
        boot_wait = max(self.timings[d].boot_wait_s for d in devices)
        deadline = last_restore + timedelta(seconds=boot_wait)
        return Plan(tuple(causes), tuple(devices), now, steps, deadline, attempt)

    def succeeded(self, device: str) -> None:
        """The device answered: its consecutive count starts again."""
        if device in self.budgets:
            self.budgets[device].consecutive = 0

    def restarts_24h(self, device: str, now: datetime) -> int:
        budget = self.budgets.get(device)
        return budget.cycles_24h(now) if budget else 0

    def _steps(self, devices: tuple[str, ...], now: datetime) -> tuple[tuple[Step, ...], datetime]:
        off = max(self.timings[d].off_time_s for d in devices)
        restore_at = now + timedelta(seconds=off)
        steps: list[Step] = [Cut(devices), WaitUntil(restore_at), Restore(devices[:1])]
        if len(devices) > 1:
            stagger = self.policy.restore_stagger_s
            if stagger:
                restore_at += timedelta(seconds=stagger)
                steps.append(WaitUntil(restore_at))
            steps.append(Restore(devices[1:]))
        return tuple(steps), restore_at

    @staticmethod
    def _forget(budget: Budget, now: datetime) -> None:
        budget.cycles = [t for t in budget.cycles if now - t < DAY]

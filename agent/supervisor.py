"""The home's devices together: health machines, dependencies and the restart planner.

The pure core of the agent. The runner feeds it probe rounds and clock ticks
and carries out what comes back: events to report and, at most one at a time,
a power-cycle :class:`~agent.restart.Plan` for the relay shell. Devices are
handled parents first, so that in the round where the router goes ``down``
the camera is already judged ``unreachable`` (Nagios host parents).

A device that is ``down`` without ever having been armed (not seen up
``arm_after`` times, for example a camera that did not come back from the
power cut that also booted the gateway) is not left ``down`` for ever: once
its boot wait has passed since the agent started, it gets ``unseen_attempts``
power cycles (camera alone first), and when they are spent it is ``failed``
with one ``restart_exhausted``, so people are called. With ``unseen_attempts``
0 it goes straight to ``failed``. The attempts are charged to the persisted
budget, so an agent restart does not grant new ones: never a reboot loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent.health import DeviceEvent, DeviceHealth
from agent.restart import Budget, Plan, Policy, Refusal, RestartPlanner, Timing, WaitUntil
from agent.results import DeviceResult
from protocol import DeviceReport, EventType, Health

_NOT_UP = frozenset({Health.DOWN, Health.UNREACHABLE, Health.RESTARTING, Health.FAILED})


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """What the supervisor needs to know of one device.

    :param relay: whether it has a relay (otherwise it is watched, never cycled).
    """

    timing: Timing
    relay: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """What one call produced: events in order, and a plan to carry out, if any."""

    events: tuple[DeviceEvent, ...] = ()
    plan: Plan | None = None


class Supervisor:
    """Health and restarts of one home's devices.

    :param devices: name to spec; the order given is kept where dependencies allow.
    :param down_after: consecutive failed rounds before ``down``.
    :param arm_after: rounds seen up before a device may be restarted.
    :param unseen_attempts: power cycles for a ``down`` device never armed, once its
        boot wait has passed since ``now``; then ``failed``.
    """

    def __init__(
        self,
        devices: Mapping[str, DeviceSpec],
        *,
        down_after: int,
        arm_after: int,
        policy: Policy,
        now: datetime,
        unseen_attempts: int = 1,
    ) -> None:
        self.specs = dict(devices)
        self.order = _parents_first(self.specs)
        self.health = {n: DeviceHealth(n, down_after, arm_after, now) for n in self.order}
        relays = {n: s.timing for n, s in self.specs.items() if s.relay}
        self.planner = RestartPlanner(relays, policy)
        self._cycle_until: datetime | None = None
        self.started, self.unseen_attempts = now, unseen_attempts

    def observe(
        self,
        results: Mapping[str, DeviceResult],
        now: datetime,
        *,
        probed_at: datetime | None = None,
    ) -> Decision:
        """Feed one probe round (any subset of the devices).

        A failure while the parent is failing too, but not yet ``down``, is held
        back: the parent may be the cause, and the next rounds will tell.

        :param probed_at: when the round's probes began. A cycle started since (a
            command can arrive mid-round) is not judged by answers from before its cut.
        """
        events: list[DeviceEvent] = []
        for name in self.order:
            result = results.get(name)
            if result is None or (not result.ok and self._parent_suspect(name)):
                continue
            if probed_at is not None and self._cut_since(name, probed_at):
                continue
            down = self._parent_down(name)
            events += self.health[name].observe(result, now, parent_down=down)
        return self._decide(events, now)

    def tick(self, now: datetime) -> Decision:
        """Let time pass: boot waits run out, back-offs end."""
        events = [e for name in self.order for e in self.health[name].tick(now)]
        return self._decide(events, now)

    def request(self, device: str, now: datetime) -> Decision | Refusal:
        """A ``power_cycle`` command for ``device`` or ``"all"``, judged by the same budget."""
        names = [n for n in self.order if self.specs[n].relay] if device == "all" else [device]
        refusal = self._command_refusal(names, now)
        if refusal is not None:
            return refusal
        return Decision(*self._start(tuple(names), tuple(names), now))

    def confirming(self) -> bool:
        """Whether a device has failed a round without being ``down`` yet (see the runner)."""
        return any(h.confirming for h in self.health.values())

    def snapshot(self, now: datetime) -> dict[str, DeviceReport]:
        """Each device's state for the ``state`` topic."""
        return {
            name: DeviceReport(
                health=h.state,
                since=h.since,
                rtt_ms=h.rtt_ms,
                restarts_24h=self.planner.restarts_24h(name, now),
                auto_restart=self.specs[name].relay,
            )
            for name, h in self.health.items()
        }

    def export(self) -> dict[str, Any]:
        """What must survive an agent restart: arming, budgets, ``failed``."""
        return {
            name: {
                "seen_up": h.seen_up,
                "failed": h.state is Health.FAILED,
                "since": h.since.isoformat(),
                "budget": b.to_json() if (b := self.planner.budgets.get(name)) else None,
            }
            for name, h in self.health.items()
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back what :meth:`export` saved; unknown devices are ignored.

        Times ahead of this run's clock (started before the clock was set) are
        moved back to its start: see :meth:`~agent.restart.Budget.not_after`.
        """
        for name, saved in data.items():
            if name not in self.health:
                continue
            health = self.health[name]
            health.seen_up = min(int(saved.get("seen_up", 0)), health.arm_after)
            if saved.get("failed"):
                health.state = Health.FAILED
                health.since = min(datetime.fromisoformat(saved["since"]), self.started)
            if name in self.planner.budgets and saved.get("budget"):
                budget = Budget.from_json(saved["budget"]).not_after(self.started)
                self.planner.budgets[name] = budget

    def _cut_since(self, name: str, probed_at: datetime) -> bool:
        health = self.health[name]
        return health.state is Health.RESTARTING and probed_at <= health.since

    def _parent_down(self, name: str) -> bool:
        parent = self.specs[name].timing.parent
        return parent is not None and self.health[parent].state in _NOT_UP

    def _parent_suspect(self, name: str) -> bool:
        parent = self.specs[name].timing.parent
        return (
            parent is not None and self.health[parent].failures > 0 and not self._parent_down(name)
        )

    def _decide(self, events: list[DeviceEvent], now: datetime) -> Decision:
        for event in events:
            if event.type is EventType.DEVICE_UP:
                self.planner.succeeded(event.device)
        if self._cycling(now):
            return Decision(tuple(events))
        for name in self.order:
            health = self.health[name]
            if health.state is not Health.DOWN or not self.specs[name].relay:
                continue
            refusal = self._auto_refusal(name, now)
            if refusal is None:
                devices = self.planner.devices_for(name, parent_usable=self._usable_parent(name))
                more, plan = self._start((name,), devices, now)
                return Decision((*events, *more), plan)
            if refusal.spent:
                events += health.budget_spent(now, {**refusal.detail, "reason": refusal.reason})
        return Decision(tuple(events))

    def _start(
        self, causes: tuple[str, ...], devices: tuple[str, ...], now: datetime
    ) -> tuple[tuple[DeviceEvent, ...], Plan]:
        plan = self.planner.plan(causes, devices, now)
        self._cycle_until = max(
            (s.when for s in plan.steps if isinstance(s, WaitUntil)), default=now
        )
        events: list[DeviceEvent] = []
        for name in devices:
            detail: dict[str, Any] = {"attempt": plan.attempt, "devices": list(devices)}
            if name not in causes:
                detail["for"] = causes[0]
            events += self.health[name].restart_started(now, plan.boot_deadline, detail)
        return tuple(events), plan

    def _auto_refusal(self, name: str, now: datetime) -> Refusal | None:
        """Why ``name`` may not be cycled automatically now; unarmed devices by their own rule."""
        health = self.health[name]
        if health.armed:
            return self.planner.refusal(name, now)
        grace = timedelta(seconds=self.specs[name].timing.boot_wait_s)
        if now < self.started + grace:
            return Refusal("not seen up yet, within its boot wait since the agent started", False)
        tried = self.planner.budgets[name].consecutive
        if tried >= self.unseen_attempts:
            reason = f"never armed (seen up {health.seen_up} of {health.arm_after} rounds)"
            reason += f" and {tried} power cycle(s) did not bring it up"
            detail = {"attempts": tried, "restarts_24h": self.planner.restarts_24h(name, now)}
            return Refusal(reason, True, detail)
        return self.planner.refusal(name, now)

    def _cycling(self, now: datetime) -> bool:
        return self._cycle_until is not None and now < self._cycle_until

    def _usable_parent(self, name: str) -> bool:
        parent = self.specs[name].timing.parent
        if parent is None or not self.specs[parent].relay:
            return False
        return self.health[parent].state not in (Health.FAILED, Health.RESTARTING)

    def _command_refusal(self, names: Sequence[str], now: datetime) -> Refusal | None:
        if not names:
            return Refusal("no device has a relay", False)
        for name in names:
            if name not in self.specs:
                return Refusal(f"unknown device {name!r}", False)
            if not self.specs[name].relay:
                return Refusal(f"{name} has no relay", False)
            if self._cycling(now) or self.health[name].state is Health.RESTARTING:
                return Refusal(f"{name} is being power-cycled already", False)
            refusal = self.planner.refusal(name, now, command=True)
            if refusal is not None:
                return refusal
        return None


def _parents_first(specs: Mapping[str, DeviceSpec]) -> list[str]:
    order: list[str] = []

    def visit(name: str) -> None:
        parent = specs[name].timing.parent
        if parent is not None and parent in specs and parent not in order:
            visit(parent)
        if name not in order:
            order.append(name)

    for name in specs:
        visit(name)
    return order

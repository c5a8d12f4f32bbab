"""The compiled policy: frozen runtime objects with every default resolved.
The engine reads only these; an incident keeps the one it opened with
(:meth:`Policy.snapshot`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from central.policy.calendar import Calendar
from central.policy.models import OTHERWISE
from central.policy.windows import Occurrence, Window


@dataclass(frozen=True, slots=True)
class Step:
    """One action for one role, with its acknowledgement and escalation rules.

    :param timedelta ack_deadline: time to acknowledge before each reminder.
    :param int reminders_before_escalation: reminders to the holder before escalating.
    :param int max_reminders: cap on reminders over the task's life.
    :param bool notice: the role is told; nothing to acknowledge.
    """

    id: str
    action: str
    role: str
    channels: tuple[str, ...]
    ack_deadline: timedelta
    reminders_before_escalation: int
    max_reminders: int
    escalate_to: str
    notice: bool = False


@dataclass(frozen=True, slots=True)
class RouteStep:
    """A step and when it starts: ``open`` (at once), ``window_end`` (when the
    window the incident opened in ends, if still failing) or ``next:<window>``
    (at the next start of that window, at once if inside it)."""

    step: Step
    at: str

    @property
    def next_window(self) -> str | None:
        return self.at.removeprefix("next:") if self.at.startswith("next:") else None


@dataclass(frozen=True, slots=True)
class Route:
    kind: str
    window: str
    owner: str
    handover: bool
    also_tell: tuple[str, ...]
    on_recovery: tuple[Step, ...]
    steps: tuple[RouteStep, ...]

    def step_for(self, action: str) -> Step | None:
        return next((rs.step for rs in self.steps if rs.step.action == action), None)


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """The route in force at a time, the window occurrence it came from (``None``
    for ``otherwise``) and every named window that claimed the time."""

    route: Route
    occurrence: Occurrence | None
    claimed_by: tuple[str, ...]

    @property
    def window(self) -> str:
        return self.occurrence.window if self.occurrence else self.route.window


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    name: str
    hash: str
    source: dict[str, Any] = field(repr=False, compare=False)
    tz: ZoneInfo = field(repr=False)
    fallback_role: str = ""
    precedence: tuple[str, ...] = ()
    windows: dict[str, Window] = field(default_factory=dict, repr=False)
    calendars: dict[str, Calendar] = field(default_factory=dict, repr=False)
    roles: dict[str, str] = field(default_factory=dict, repr=False)
    steps: dict[str, Step] = field(default_factory=dict, repr=False)
    routes: tuple[Route, ...] = field(default=(), repr=False)
    missed_heartbeats: float = 2
    silence_grace: timedelta = timedelta(minutes=10)
    check_lead: timedelta = timedelta(minutes=15)
    settle: timedelta = timedelta(minutes=10)
    extensive_threshold: int = 3
    extensive_within: timedelta = timedelta(minutes=15)
    blind_share: float = 0.5
    blind_within: timedelta = timedelta(minutes=5)
    visit_step: Step | None = field(default=None, repr=False)
    visit_window: Window | None = field(default=None, repr=False)
    vendor: dict[str, str] = field(default_factory=dict, repr=False)
    followups: dict[str, Step] = field(default_factory=dict, repr=False)

    def snapshot(self) -> dict[str, Any]:
        """Plain data an incident stores; ``policy_from_snapshot`` rebuilds the policy."""
        return {"id": self.id, "hash": self.hash, "source": self.source}

    def step(self, step_id: str) -> Step:
        """A step by id, including the fallback steps synthesised for uncovered time."""
        if step_id in self.steps:
            return self.steps[step_id]
        base = self.steps[step_id.removesuffix("_fallback")]
        return self._fallback_step(base)

    def _fallback_step(self, base: Step) -> Step:
        return Step(
            id=f"{base.id}_fallback",
            action=base.action,
            role=self.fallback_role,
            channels=base.channels,
            ack_deadline=base.ack_deadline,
            reminders_before_escalation=base.reminders_before_escalation,
            max_reminders=base.max_reminders,
            escalate_to=self.fallback_role,
            notice=base.notice,
        )

    def _rank(self, route: Route) -> tuple[int, int]:
        order = self.precedence
        first = order.index(route.window) if route.window in order else len(order)
        return (first, self.routes.index(route))

    def route_at(self, kind: str, now: datetime) -> RouteMatch:
        """The route for an incident of ``kind`` opening at ``now``: among the
        named windows containing ``now`` the one first in ``precedence`` wins,
        else ``otherwise``, else a synthesised route to the fallback role."""
        candidates = [r for r in self.routes if r.kind == kind]
        hits: list[tuple[Route, Occurrence]] = []
        for route in candidates:
            if route.window == OTHERWISE:
                continue
            occ = self.windows[route.window].occurrence_at(now)
            if occ is not None:
                hits.append((route, occ))
        claimed = tuple(sorted({r.window for r, _ in hits}))
        if hits:
            route, occ = min(hits, key=lambda h: self._rank(h[0]))
            return RouteMatch(route, occ, claimed)
        fallback = next((r for r in candidates if r.window == OTHERWISE), None)
        return RouteMatch(fallback or self._fallback_route(kind), None, claimed)

    def _fallback_route(self, kind: str) -> Route:
        """Time no route covers still has an owner: the fallback role gets the
        first step of the kind's first route (ROUTINE.md: never drop an outage)."""
        template = next(r for r in self.routes if r.kind == kind) if kind in self.kinds else None
        base = template.steps[0].step if template else next(iter(self.steps.values()))
        step = self._fallback_step(base)
        return Route(kind, OTHERWISE, self.fallback_role, True, (), (), (RouteStep(step, "open"),))

    def uncovered_end(self, kind: str, now: datetime) -> datetime | None:
        """When the next named window of ``kind``'s routes starts: the end of an
        ``otherwise`` stretch."""
        starts = [
            occ.start
            for r in self.routes
            if r.kind == kind and r.window != OTHERWISE
            for occ in [self.windows[r.window].next_occurrence(now)]
            if occ is not None
        ]
        return min(starts, default=None)

    def window_end(self, match: RouteMatch, kind: str, now: datetime) -> datetime | None:
        """When the window that ``match`` came from ends."""
        return match.occurrence.end if match.occurrence else self.uncovered_end(kind, now)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(r.kind for r in self.routes)

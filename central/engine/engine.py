"""The engine facade: one input in, a list of effects out (h11-style: no I/O).

``handle`` takes exactly one input. ``run_until`` fires, in time order, every
durable timer and liveness deadline due up to a time, each stamped with its
own due time: ``replay`` calls it between messages, and a test can too. The
live service instead feeds ``TimerFired`` for its timer rows and ``Tick`` for
liveness.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from central.engine import human, liveness
from central.engine.context import Context, EngineState
from central.engine.effects import Effect
from central.engine.homes import (
    apply_event,
    apply_snapshot,
    confirmed_up,
    failing_reason,
    heard,
    reported_up,
)
from central.engine.incidents import (
    STEP_TIMER,
    home_of,
    home_recovered,
    live_incident,
    on_step_timer,
    open_outage,
)
from central.engine.inputs import (
    Acknowledge,
    BrokerLost,
    BrokerRestored,
    CheckFailed,
    CheckWorked,
    GatewayMessage,
    Input,
    TaskDone,
    Tick,
    TimerFired,
    VendorCaseNumber,
    VisitDone,
)
from central.engine.model import Home, Incident, Timer
from central.engine.tasks import ACK_TIMER, HANDOVER_TIMER, on_ack_timer, on_handover_timer
from central.engine.visits import LEAD_TIMER, VISIT_TIMER, arm_lead, disarm_lead, plan_visits
from central.policy import Policy
from central.registry import Registry
from protocol import Availability, Event, StateSnapshot

SETTLE_TIMER = "settle"


class Engine:
    """The routine engine. Pure: no I/O, no clock; every input carries ``at``.

    :param Policy policy: the policy new incidents open with.
    :param Registry registry: the homes.
    :param EngineState state: state to continue from (see :meth:`from_dict`).
    """

    def __init__(
        self, policy: Policy, registry: Registry, state: EngineState | None = None
    ) -> None:
        self._ctx = Context(policy, registry, state or EngineState())
        self._handlers: dict[type, Callable[[Any], None]] = {
            GatewayMessage: self._message,
            Tick: self._tick,
            TimerFired: self._timer,
            BrokerLost: lambda i: liveness.broker_lost(self._ctx, i.at),
            BrokerRestored: lambda i: liveness.broker_restored(self._ctx, i.at),
            Acknowledge: lambda i: human.on_acknowledge(self._ctx, i),
            TaskDone: lambda i: human.on_task_done(self._ctx, i),
            VisitDone: lambda i: human.on_visit_done(self._ctx, i),
            VendorCaseNumber: lambda i: human.on_vendor_case(self._ctx, i),
            CheckFailed: lambda i: human.on_check_failed(self._ctx, i),
            CheckWorked: lambda i: human.on_check_worked(self._ctx, i),
        }
        for home in self._ctx.state.homes.values():
            liveness.requeue(self._ctx, home)

    # --- state ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """All state as JSON-ready data; :meth:`from_dict` continues exactly from it."""
        return self._ctx.state.to_dict()

    @classmethod
    def from_dict(cls, data: dict[str, Any], policy: Policy, registry: Registry) -> Engine:
        return cls(policy, registry, EngineState.from_dict(data))

    @property
    def incidents(self) -> Mapping[str, Incident]:
        return MappingProxyType(self._ctx.state.incidents)

    @property
    def homes(self) -> Mapping[str, Home]:
        return MappingProxyType(self._ctx.state.homes)

    @property
    def timers(self) -> Mapping[str, Timer]:
        return MappingProxyType(self._ctx.state.timers)

    @property
    def policy(self) -> Policy:
        return self._ctx.policy

    def set_policy(self, policy: Policy) -> None:
        """New incidents use ``policy``; running incidents keep their snapshot."""
        self._ctx.set_policy(policy)

    def set_registry(self, registry: Registry) -> None:
        self._ctx.registry = registry

    def forget_closed(self, before: datetime) -> list[str]:
        """Drop incidents closed before ``before`` whose tasks are all finished
        (the store keeps them); keeps a long-running engine's state small."""
        incidents = self._ctx.state.incidents
        old = [
            i.id
            for i in incidents.values()
            if not i.live and i.closed_at and i.closed_at < before and not i.live_tasks()
        ]
        for iid in old:
            del incidents[iid]
        return old

    # --- driving --------------------------------------------------------
    def handle(self, item: Input) -> list[Effect]:
        """Apply one input; the effects say everything it decided."""
        self._handlers[type(item)](item)
        return self._ctx.take_effects()

    def next_due(self) -> datetime | None:
        """When the next timer or liveness deadline is due, if any."""
        due = [d[0] for d in (self._ctx.next_timer(), self._ctx.next_liveness()) if d]
        return min(due, default=None)

    def run_until(self, until: datetime, *, inclusive: bool = True) -> list[Effect]:
        """Fire everything due before ``until`` (and at it, if ``inclusive``), in
        time order. Before feeding a message that arrived at ``t``, call it with
        ``inclusive=False``: a heartbeat arriving exactly on its deadline is on time."""
        ctx = self._ctx

        def due(when: datetime) -> bool:
            return when <= until if inclusive else when < until

        while True:
            timer, live = ctx.next_timer(), ctx.next_liveness()
            if timer and due(timer[0]) and (not live or timer[0] <= live[0]):
                self._fire(timer[1], timer[0])
            elif live and due(live[0]):
                self._deadline(*ctx.pop_liveness())
            else:
                return ctx.take_effects()

    # --- handlers -------------------------------------------------------
    def _message(self, item: GatewayMessage) -> None:
        gateway, body = item.message.topic.gateway, item.message.body
        if gateway is None or gateway not in self._ctx.registry:
            return
        home = home_of(self._ctx, gateway)
        if isinstance(body, Event) and not apply_event(home, body, item.at):
            return
        was_silent = heard(home, item.at, offline=body is Availability.OFFLINE)
        if isinstance(body, StateSnapshot):
            apply_snapshot(home, body)
        if was_silent:
            liveness.back(self._ctx, gateway, item.at)
        liveness.requeue(self._ctx, home)
        self._evaluate(home, item.at)

    def _tick(self, item: Tick) -> None:
        ctx = self._ctx
        while (live := ctx.next_liveness()) is not None and live[0] <= item.at:
            self._deadline(*ctx.pop_liveness())

    def _deadline(self, due: datetime, gateway: str) -> None:
        if liveness.on_deadline(self._ctx, due, gateway):
            self._evaluate(home_of(self._ctx, gateway), due)

    def _timer(self, item: TimerFired) -> None:
        self._fire(item.token, item.at)

    def _fire(self, token: str, at: datetime) -> None:
        ctx = self._ctx
        timer = ctx.claim(token)
        if timer is None:
            return
        incident = ctx.state.incidents.get(timer.incident or "")
        home = home_of(ctx, timer.gateway) if timer.gateway else None
        if timer.purpose == ACK_TIMER and incident:
            on_ack_timer(ctx, incident, timer.data["task"], token, at)
        elif timer.purpose == HANDOVER_TIMER and incident:
            on_handover_timer(ctx, incident, timer.data["task"], timer.due, at)
        elif timer.purpose == STEP_TIMER and incident:
            on_step_timer(ctx, incident, timer.data["step"], at)
        elif timer.purpose == VISIT_TIMER and incident and home and incident.live:
            home.visit_timer = None
            plan_visits(ctx, incident, home, at)
        elif timer.purpose == LEAD_TIMER and home and home.lead_timer == token:
            home.lead_timer = None
            self._evaluate(home, at)
        elif timer.purpose == SETTLE_TIMER and home and home.settle_timer == token:
            home.settle_timer = None
            if confirmed_up(home) and not home.human_reported:
                home_recovered(ctx, home, at)

    def _evaluate(self, home: Home, at: datetime) -> None:
        """Decide what this home's current health means (module docstring of homes.py)."""
        ctx = self._ctx
        entry = ctx.registry.get(home.gateway)
        if entry is None or not entry.active:
            return
        if live_incident(ctx, home) is not None:
            self._settle(home, at)
            return
        reason = failing_reason(home, entry.relay)
        if reason is not None:
            open_outage(ctx, home.gateway, at, reason)
        elif confirmed_up(home) or (reported_up(home) and liveness.blind(ctx)):
            disarm_lead(ctx, home)
        elif home.health and arm_lead(ctx, home, at, liveness.unknown_from(ctx, home)):
            open_outage(ctx, home.gateway, at, "check_at_risk", since=home.silent_since)

    def _settle(self, home: Home, at: datetime) -> None:
        """Recovery counts only after the camera stayed up for the settle time."""
        ctx = self._ctx
        if confirmed_up(home) and not home.human_reported:
            if home.settle_timer is None:
                due = at + ctx.policy.settle
                home.settle_timer = ctx.schedule(due, SETTLE_TIMER, gateway=home.gateway)
        elif home.settle_timer is not None:
            ctx.cancel(home.settle_timer)
            home.settle_timer = None

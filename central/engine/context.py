"""The engine's working context: its state, the policies it knows, the
registry, and the effects being collected for the input in hand. Timers are
kept here as a heap over the durable timer records, so the engine can say what
is due next (for ``replay``) while the live service drives them by token."""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from central.engine.effects import (
    Decision,
    DecisionEvent,
    Effect,
    IncidentChanged,
    TimerCancelled,
    TimerScheduled,
)
from central.engine.model import Home, Incident, Task, Timer
from central.policy import Policy, policy_from_snapshot
from central.registry import Registry
from protocol import format_time


@dataclass(slots=True)
class EngineState:
    """Everything the engine remembers, as plain data (``to_dict``/``from_dict``)."""

    homes: dict[str, Home] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    timers: dict[str, Timer] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: int = 0
    failures: deque[tuple[datetime, str]] = field(default_factory=deque)
    silences: deque[tuple[datetime, str]] = field(default_factory=deque)
    silent: set[str] = field(default_factory=set)
    broker_lost: bool = False
    blind_incident: str | None = None
    blind_ended: datetime | None = None
    last_extensive: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "homes": [h.to_dict() for h in self.homes.values()],
            "incidents": [i.to_dict() for i in self.incidents.values()],
            "timers": [t.to_dict() for t in self.timers.values()],
            "policies": self.policies,
            "counter": self.counter,
            "failures": [[format_time(at), gw] for at, gw in self.failures],
            "silences": [[format_time(at), gw] for at, gw in self.silences],
            "silent": sorted(self.silent),
            "broker_lost": self.broker_lost,
            "blind_incident": self.blind_incident,
            "blind_ended": format_time(self.blind_ended) if self.blind_ended else None,
            "last_extensive": self.last_extensive,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineState:
        def when(text: str) -> datetime:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))

        ended = data.get("blind_ended")
        return cls(
            homes={h["gateway"]: Home.from_dict(h) for h in data.get("homes", [])},
            incidents={i["id"]: Incident.from_dict(i) for i in data.get("incidents", [])},
            timers={t["token"]: Timer.from_dict(t) for t in data.get("timers", [])},
            policies=dict(data.get("policies", {})),
            counter=int(data.get("counter", 0)),
            failures=deque((when(a), g) for a, g in data.get("failures", [])),
            silences=deque((when(a), g) for a, g in data.get("silences", [])),
            silent=set(data.get("silent", [])),
            broker_lost=bool(data.get("broker_lost", False)),
            blind_incident=data.get("blind_incident"),
            blind_ended=when(ended) if ended else None,
            last_extensive=data.get("last_extensive"),
        )


class Context:
    """Shared by the rule modules while one input is handled."""

    def __init__(self, policy: Policy, registry: Registry, state: EngineState) -> None:
        self.policy = policy
        self.registry = registry
        self.state = state
        self.effects: list[Effect] = []
        self._changed: dict[str, None] = {}
        self._policies: dict[str, Policy] = {policy.hash: policy}
        self._timer_heap: list[tuple[datetime, str]] = []
        self.liveness: list[tuple[datetime, str]] = []
        self.queued: dict[str, datetime] = {}
        state.policies.setdefault(policy.hash, policy.snapshot())
        for timer in state.timers.values():
            heapq.heappush(self._timer_heap, (timer.due, timer.token))

    # --- policies -------------------------------------------------------
    def policy_of(self, incident: Incident) -> Policy:
        """The snapshot the incident opened with, never the current file."""
        found = self._policies.get(incident.policy)
        if found is None:
            found = policy_from_snapshot(self.state.policies[incident.policy])
            self._policies[incident.policy] = found
        return found

    def set_policy(self, policy: Policy) -> None:
        self.policy = policy
        self._policies[policy.hash] = policy
        self.state.policies.setdefault(policy.hash, policy.snapshot())

    # --- ids, effects ---------------------------------------------------
    def new_id(self, prefix: str, at: datetime) -> str:
        """Deterministic ids: the same inputs give the same ids in replay and live."""
        self.state.counter += 1
        return f"{prefix}{at.strftime('%Y%m%dT%H%M%SZ')}-{self.state.counter}"

    def emit(self, effect: Effect) -> None:
        self.effects.append(effect)

    def decide(
        self,
        at: datetime,
        event: DecisionEvent,
        incident: Incident,
        task: Task | None = None,
        *,
        role: str | None = None,
        reason: str = "",
    ) -> None:
        self.emit(
            Decision(
                at=at,
                event=event,
                incident=incident.id,
                kind=incident.kind,
                gateways=tuple(incident.gateways),
                role=role if role is not None else (task.role if task else None),
                action=task.action if task else None,
                step=task.step if task else None,
                check=task.check if task else None,
                task=task.id if task else None,
                reason=reason,
            )
        )
        self.touch(incident)

    def touch(self, incident: Incident) -> None:
        self._changed[incident.id] = None

    def take_effects(self) -> list[Effect]:
        """The effects of this input, each changed incident's record last."""
        for iid in self._changed:
            incident = self.state.incidents[iid]
            self.effects.append(IncidentChanged(iid, incident.to_dict()))
        out, self.effects, self._changed = self.effects, [], {}
        return out

    # --- durable timers -------------------------------------------------
    def schedule(
        self,
        due: datetime,
        purpose: str,
        *,
        incident: str | None = None,
        gateway: str | None = None,
        **data: Any,
    ) -> str:
        self.state.counter += 1
        token = f"t{self.state.counter}"
        self.state.timers[token] = Timer(token, due, purpose, incident, gateway, dict(data))
        heapq.heappush(self._timer_heap, (due, token))
        self.emit(TimerScheduled(token, due, purpose, incident, gateway))
        return token

    def cancel(self, token: str | None) -> None:
        if token is not None and self.state.timers.pop(token, None) is not None:
            self.emit(TimerCancelled(token))

    def claim(self, token: str) -> Timer | None:
        """Take a timer that fired; ``None`` if the token is stale."""
        return self.state.timers.pop(token, None)

    def next_timer(self) -> tuple[datetime, str] | None:
        heap = self._timer_heap
        while heap and (heap[0][1] not in self.state.timers):
            heapq.heappop(heap)
        return heap[0] if heap else None

    # --- liveness queue (in memory: rebuilt from homes) -----------------
    def queue_liveness(self, gateway: str, due: datetime | None) -> None:
        if due is None:
            return
        queued = self.queued.get(gateway)
        if queued is None or due < queued:
            self.queued[gateway] = due
            heapq.heappush(self.liveness, (due, gateway))

    def next_liveness(self) -> tuple[datetime, str] | None:
        heap = self.liveness
        while heap and self.queued.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0] if heap else None

    def pop_liveness(self) -> tuple[datetime, str]:
        due, gateway = heapq.heappop(self.liveness)
        del self.queued[gateway]
        return due, gateway

"""What the engine decides. The caller carries these out (STYLE.md rule 7):
the live service writes decisions to the audit log, notifications to the
outbox and timers to their table in one transaction; ``replay`` prints the
decisions. Effects are plain frozen data; ``to_dict`` gives their JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from protocol import format_time


class DecisionEvent(StrEnum):
    """The ``event`` of a decision line (ROUTINE.md "Decision vocabulary")."""

    INCIDENT_OPENED = "incident_opened"
    INCIDENT_UPDATED = "incident_updated"
    INCIDENT_CLOSED = "incident_closed"
    TASK_CREATED = "task_created"
    REMINDER = "reminder"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"
    ACKNOWLEDGED = "acknowledged"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision, explainable from its inputs: ``reason`` says which rule made it.

    ``gateways`` is the incident's full current membership; ``role`` is the role
    asked to act or, for a notice, the role told; ``check`` is set on visits.
    """

    at: datetime
    event: DecisionEvent
    incident: str
    kind: str
    gateways: tuple[str, ...]
    role: str | None = None
    action: str | None = None
    step: str | None = None
    check: datetime | None = None
    task: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": format_time(self.at),
            "incident": self.incident,
            "kind": self.kind,
            "gateways": list(self.gateways),
            "role": self.role,
            "action": self.action,
            "step": self.step,
            "check": format_time(self.check) if self.check else None,
            "event": self.event.value,
            "task": self.task,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Notification:
    """Tell a role something, in Swedish. ``key`` is the idempotency key of the
    outbox row: the same decision never notifies twice."""

    key: str
    at: datetime
    incident: str
    task: str | None
    role: str
    action: str | None
    event: DecisionEvent
    channels: tuple[str, ...]
    subject: str
    body: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "at": format_time(self.at),
            "incident": self.incident,
            "task": self.task,
            "role": self.role,
            "action": self.action,
            "event": self.event.value,
            "channels": list(self.channels),
            "subject": self.subject,
            "body": self.body,
        }


@dataclass(frozen=True, slots=True)
class TimerScheduled:
    """Store a durable timer row; feed :class:`~central.engine.inputs.TimerFired`
    with its token when ``due`` passes. ``incident``/``gateway`` are for the row's
    owner columns; the engine needs only the token."""

    token: str
    due: datetime
    purpose: str
    incident: str | None = None
    gateway: str | None = None


@dataclass(frozen=True, slots=True)
class TimerCancelled:
    """Delete the timer row with this token (firing it anyway would do nothing)."""

    token: str


@dataclass(frozen=True, slots=True)
class IncidentChanged:
    """The incident's full record after this input (plain JSON data, including
    its tasks and policy snapshot hash): upsert it."""

    incident: str
    record: dict[str, Any] = field(compare=False)


Effect = Decision | Notification | TimerScheduled | TimerCancelled | IncidentChanged

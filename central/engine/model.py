"""The engine's state as plain data: homes, incidents, tasks and timers.

Every record converts to and from a JSON-ready dict, so the live service can
store incidents (with their tasks) and timers as rows and rebuild the engine
after a crash, and a test can stop a replay half-way and continue from the
dict. Nothing here decides; the rules live in the sibling modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Self

from protocol import format_time

OPEN = "open"
ACKED = "acknowledged"
DONE = "done"
CANCELLED = "cancelled"
LIVE_TASK = frozenset({OPEN, ACKED})

INCIDENT_OPEN = "open"
INCIDENT_RECOVERING = "recovering"
INCIDENT_CLOSED = "closed"


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class _Record:
    """to/from dict for flat dataclasses whose datetime fields are named in ``_times``."""

    _times: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name in self._times and value is not None:
                value = format_time(value)
            elif isinstance(value, set | frozenset):
                value = sorted(value)
            elif isinstance(value, list | dict):
                value = _copy(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        record: Self = _build(cls, data)
        return record


def _build(cls: Any, data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name in cls._times and value is not None:
            value = _parse_time(value)
        kwargs[f.name] = _copy(value)
    return cls(**kwargs)


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


@dataclass(slots=True)
class Task(_Record):
    """One human step (ROUTINE.md "Every human step becomes a task")."""

    _times: ClassVar[frozenset[str]] = frozenset({"created", "check", "due", "window_end"})

    id: str
    incident: str
    step: str
    action: str
    role: str
    created: datetime
    due: datetime
    status: str = OPEN
    gateway: str | None = None
    check: datetime | None = None
    notice: bool = False
    reminders: int = 0
    escalated: bool = False
    timer: str | None = None
    window: str | None = None
    window_end: datetime | None = None
    draft: str = ""

    @property
    def live(self) -> bool:
        return self.status in LIVE_TASK


@dataclass(slots=True)
class Incident(_Record):
    """An outage: one home (``single``), several grouped (``extensive``) or our
    own blindness (``infrastructure``). ``policy`` is the hash of the policy
    snapshot it opened with; it keeps it to the end (ROUTINE.md, DESIGN.md)."""

    _times: ClassVar[frozenset[str]] = frozenset({"opened", "updated", "closed_at", "last_join"})

    id: str
    kind: str
    opened: datetime
    updated: datetime
    policy: str
    window: str
    reason: str
    owner: str = ""
    gateways: list[str] = field(default_factory=list)
    status: str = INCIDENT_OPEN
    tasks: dict[str, Task] = field(default_factory=dict)
    recovered: list[str] = field(default_factory=list)
    case_number: str | None = None
    merged_into: str | None = None
    closed_at: datetime | None = None
    last_join: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out = _Record.to_dict(self)
        out["tasks"] = {k: t.to_dict() for k, t in self.tasks.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        plain = {k: v for k, v in data.items() if k != "tasks"}
        incident: Self = _build(cls, plain)
        incident.tasks = {k: Task.from_dict(v) for k, v in data.get("tasks", {}).items()}
        return incident

    @property
    def live(self) -> bool:
        return self.status != INCIDENT_CLOSED

    def live_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.live]


@dataclass(slots=True)
class Timer(_Record):
    """A durable timer: the engine acts on ``TimerFired`` only while it holds the token."""

    _times: ClassVar[frozenset[str]] = frozenset({"due"})

    token: str
    due: datetime
    purpose: str
    incident: str | None = None
    gateway: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Home(_Record):
    """What the engine knows of one gateway's home. Rebuildable from the
    retained ``availability`` and ``state`` messages after a restart."""

    _times: ClassVar[frozenset[str]] = frozenset(
        {"last_seen", "offline_since", "back_by", "silent_since", "planned_until"}
    )

    gateway: str
    health: dict[str, str] = field(default_factory=dict)
    no_relay: list[str] = field(default_factory=list)
    exhausted: bool = False
    last_seen: datetime | None = None
    heartbeat_s: int = 30
    offline_since: datetime | None = None
    back_by: datetime | None = None
    silent_since: datetime | None = None
    boot: str | None = None
    seq: int = -1
    seen_ids: list[str] = field(default_factory=list)
    incident: str | None = None
    lead_timer: str | None = None
    settle_timer: str | None = None
    visit_timer: str | None = None
    planned_until: datetime | None = None
    silence_opened: bool = False
    human_reported: bool = False

"""What the engine is fed. Every input carries ``at``: the aware UTC time it
arrived at the central service (never the gateway's own ``ts``: a Pi has no
battery clock, ROUTINE.md "Defaults")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from protocol import Message


def _check_utc(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"'at' must be an aware UTC datetime, got {at!r}")
    if at.utcoffset() != UTC.utcoffset(at):
        raise ValueError(f"'at' must be in UTC, got offset {at.utcoffset()}")


@dataclass(frozen=True, slots=True)
class _Input:
    at: datetime

    def __post_init__(self) -> None:
        _check_utc(self.at)


@dataclass(frozen=True, slots=True)
class GatewayMessage(_Input):
    """A valid MQTT message as returned by :func:`protocol.parse`, with its arrival time."""

    message: Message


@dataclass(frozen=True, slots=True)
class Tick(_Input):
    """Liveness tick: the service calls this every few seconds so that silence
    (a gateway past ``heartbeat_s`` plus grace) and a blind central are seen
    without waiting for the next message."""


@dataclass(frozen=True, slots=True)
class TimerFired(_Input):
    """A durable timer row came due. A token the engine no longer holds is stale
    and changes nothing (STYLE.md rule 7)."""

    token: str


@dataclass(frozen=True, slots=True)
class BrokerLost(_Input):
    """The central service lost its MQTT broker: we are blind (ROUTINE.md)."""


@dataclass(frozen=True, slots=True)
class BrokerRestored(_Input):
    """The broker connection is back."""


@dataclass(frozen=True, slots=True)
class TaskRef:
    """Names one task, either by id or by what staff see on screen: the home,
    the action and (for a visit) the scheduled check. ``incident`` narrows
    the search to one incident."""

    task: str | None = None
    gateway: str | None = None
    action: str | None = None
    check: datetime | None = None
    incident: str | None = None

    def __post_init__(self) -> None:
        if self.task is None and self.action is None:
            raise ValueError("a task reference needs 'task' or 'action'")
        if self.check is not None:
            _check_utc(self.check)


@dataclass(frozen=True, slots=True)
class Acknowledge(_Input):
    """Someone in the task's role took it: reminders and escalation stop."""

    ref: TaskRef
    by: str = ""


@dataclass(frozen=True, slots=True)
class TaskDone(_Input):
    """A task is done (e.g. home care restarted the devices, a journal note was
    filed). ``outcome="no_visit_planned"`` on ``contact_homecare`` asks for a
    ``site_restart`` (ROUTINE.md T2)."""

    ref: TaskRef
    by: str = ""
    outcome: str = ""


@dataclass(frozen=True, slots=True)
class VisitDone(_Input):
    """The night patrol made a physical visit (ROUTINE.md steps 4-5).

    :param bool restarted: the devices were restarted at the visit (5a-c).
    :param camera_works: what the digital supervisor saw after it (5d):
        ``False`` hands the case to the alarm group (step 6); ``None`` if not yet known.
    """

    ref: TaskRef
    restarted: bool
    camera_works: bool | None = None
    by: str = ""


@dataclass(frozen=True, slots=True)
class VendorCaseNumber(_Input):
    """The vendor gave a case number for the incident's fault report (T7, E1a, E2a)."""

    incident: str | None
    case_number: str
    gateway: str | None = None
    by: str = ""


@dataclass(frozen=True, slots=True)
class CheckFailed(_Input):
    """The digital supervisor could not do a check (ROUTINE.md step 4).
    ``gateway=None`` means every camera failed (the vendor's platform is down)."""

    gateway: str | None
    check: datetime | None = None
    by: str = ""


@dataclass(frozen=True, slots=True)
class CheckWorked(_Input):
    """The digital supervisor confirms a check worked: a visit kept inside the
    lead time after a recovery is no longer needed (ROUTINE.md)."""

    gateway: str
    check: datetime
    by: str = ""


HumanInput = Acknowledge | TaskDone | VisitDone | VendorCaseNumber | CheckFailed | CheckWorked
Input = GatewayMessage | Tick | TimerFired | BrokerLost | BrokerRestored | HumanInput

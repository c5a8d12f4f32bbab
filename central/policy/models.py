"""The policy file as read: pydantic models with ``extra="forbid"``, each
checking its own rules (STYLE.md rule 5). Cross-references between sections
are checked once, at the root, in :mod:`central.policy.compile`."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)

OTHERWISE = "otherwise"

_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_CLOCK_RE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_NAME = r"^[a-z][a-z0-9_]{0,63}$"


def parse_duration(value: object) -> timedelta:
    """``"15m"``, ``"1h30m"``, ``"90s"``: the policy's way to write a duration."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION_RE.match(value) if isinstance(value, str) and value else None
    if match is None or not any(match.groups()):
        raise ValueError('not a duration | write it like "15m", "1h30m" or "90s"')
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def parse_clock(value: object) -> int:
    """``"HH:MM"`` local wall-clock time as minutes after midnight (``"24:00"`` = 1440)."""
    if isinstance(value, int):
        return value
    match = _CLOCK_RE.match(value) if isinstance(value, str) else None
    minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
    if not 0 <= minutes <= 1440:
        raise ValueError('not a time of day | write "HH:MM", from "00:00" to "24:00"')
    return minutes


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`: ``timedelta(minutes=90)`` is ``"1h30m"``."""
    total = int(value.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{seconds}s" if seconds or not text else "")


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
ClockTime = Annotated[int, BeforeValidator(parse_clock)]
Name = Annotated[str, Field(pattern=_NAME)]
Channel = Literal["email", "sms", "webhook", "mqtt"]
Kind = Literal["single", "extensive", "infrastructure"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Action = Literal[
    "contact_homecare",
    "site_restart",
    "notify_night_patrol",
    "physical_visit",
    "journal_note",
    "handover",
    "vendor_report",
    "verify_restored",
    "status_report",
    "it_ownership",
    "incident_report",
    "confirm_checks",
]

ACTIONS: tuple[str, ...] = get_args(Action)
"""The decision vocabulary of ROUTINE.md: a step's action is one of these."""
KINDS: tuple[str, ...] = get_args(Kind)
WEEKDAYS: tuple[str, ...] = get_args(Weekday)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DefaultsModel(_Strict):
    """Inherited by every step that does not set its own."""

    channels: list[Channel] = Field(default=["sms", "email"], min_length=1)
    ack_deadline: Duration = timedelta(minutes=15)
    reminders_before_escalation: Annotated[int, Field(ge=0, le=10)] = 1
    max_reminders: Annotated[int, Field(ge=0, le=20)] = 3
    escalate_to: Name | None = None


class OutageModel(_Strict):
    missed_heartbeats: Annotated[float, Field(ge=1, le=10)] = 2
    silence_grace: Duration = timedelta(minutes=10)
    check_lead: Duration = timedelta(minutes=15)
    settle: Duration = timedelta(minutes=10)


class ExtensiveModel(_Strict):
    threshold: Annotated[int, Field(ge=2)] = 3
    within: Duration = timedelta(minutes=15)


class BlindModel(_Strict):
    silent_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    within: Duration = timedelta(minutes=5)


class VisitsModel(_Strict):
    step: Name = "physical_visit"
    window: Name = "night"


class VendorModel(_Strict):
    name: str = ""
    email: str = ""
    phone: str = ""


class CalendarModel(_Strict):
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "SE"
    categories: list[Literal["public", "de_facto", "bank", "optional"]] = Field(
        default=["public"], min_length=1
    )
    extra_dates: list[date] = Field(default_factory=list)


class RoleModel(_Strict):
    name: str = ""
    channels: list[Channel] | None = None
    contact: str = ""


class WindowModel(_Strict):
    """A weekly time window in the policy's time zone; ``end`` before ``start``
    crosses midnight and belongs to the day it starts on."""

    description: str = ""
    days: list[Weekday] = Field(min_length=1)
    start: ClockTime
    end: ClockTime
    calendar: Name | None = None
    holidays: Literal["ignore", "exclude", "only"] = "ignore"

    @field_validator("end")
    @classmethod
    def _not_empty(cls, end: int, info: ValidationInfo) -> int:
        start = info.data.get("start")
        if start is not None and start % 1440 == end % 1440:
            raise ValueError("start equals end: the window is empty | give different times")
        return end


class StepModel(_Strict):
    action: Action
    role: Name
    channels: list[Channel] | None = None
    ack_deadline: Duration | None = None
    reminders_before_escalation: Annotated[int, Field(ge=0, le=10)] | None = None
    max_reminders: Annotated[int, Field(ge=0, le=20)] | None = None
    escalate_to: Name | None = None
    notice: bool = False


class RouteStepModel(_Strict):
    step: Name
    at: Annotated[str, Field(pattern=r"^(open|window_end|next:[a-z][a-z0-9_]{0,63})$")] = "open"


class RouteModel(_Strict):
    kind: Kind
    window: Name
    owner: Name | None = None
    handover: bool = False
    also_tell: list[Name] = Field(default_factory=list)
    on_recovery: list[Name] = Field(default_factory=list)
    steps: list[RouteStepModel] = Field(min_length=1)


class FollowupsModel(_Strict):
    """Steps that follow an event rather than a window (ROUTINE.md T1d/T4, T6-T9)."""

    handover: Name = "handover"
    vendor_report: Name = "vendor_report_single"
    verify_restored: Name = "verify_restored"
    status_report: Name = "status_report"
    journal_note: Name = "journal_note"
    site_restart: Name = "site_restart"


class PolicyModel(_Strict):
    id: Name
    name: str = ""
    timezone: str = "Europe/Stockholm"
    fallback_role: Name
    precedence: list[Name] = Field(default_factory=list)
    defaults: DefaultsModel = DefaultsModel()
    outage: OutageModel = OutageModel()
    extensive: ExtensiveModel = ExtensiveModel()
    blind: BlindModel = BlindModel()
    visits: VisitsModel = VisitsModel()
    vendor: VendorModel = VendorModel()
    calendars: dict[Name, CalendarModel] = Field(default_factory=dict)
    roles: dict[Name, RoleModel] = Field(min_length=1)
    windows: dict[Name, WindowModel] = Field(default_factory=dict)
    steps: dict[Name, StepModel] = Field(min_length=1)
    routes: list[RouteModel] = Field(min_length=1)
    followups: FollowupsModel = FollowupsModel()

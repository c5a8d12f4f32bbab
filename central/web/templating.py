"""Jinja2 filters and globals: times in Europe/Stockholm, Swedish names."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from central.web.fleet import HEALTH_NAMES, STATES
from central.web.roles import ROLE_NAMES, Perm, allows
from central.web.routine import ACTION_NAMES, INCIDENT_STATUS, KIND_NAMES, TASK_STATUS

STOCKHOLM = ZoneInfo("Europe/Stockholm")
_DAYS = ("mån", "tis", "ons", "tors", "fre", "lör", "sön")
_MONTHS = ("jan", "feb", "mars", "apr", "maj", "juni", "juli", "aug", "sep", "okt", "nov", "dec")


def clock(value: datetime | None) -> str:
    """``HH:MM`` on the Stockholm wall clock."""
    return value.astimezone(STOCKHOLM).strftime("%H:%M") if value else "–"


def when(value: datetime | None) -> str:
    """``tis 9 mars 02:30`` on the Stockholm wall clock."""
    if value is None:
        return "–"
    local = value.astimezone(STOCKHOLM)
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local:%H:%M}"


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def install_filters(templates: Jinja2Templates) -> None:
    env = templates.env
    env.filters.update(clock=clock, when=when, iso=iso)
    env.globals.update(
        STATES=STATES,
        HEALTH_NAMES=HEALTH_NAMES,
        ROLE_NAMES=ROLE_NAMES,
        ACTION_NAMES=ACTION_NAMES,
        KIND_NAMES=KIND_NAMES,
        TASK_STATUS=TASK_STATUS,
        INCIDENT_STATUS=INCIDENT_STATUS,
        Perm=Perm,
        allows=allows,
    )

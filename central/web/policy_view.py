"""The policy page's weekly coverage grid, asked of the active policy itself.

For an ordinary week (no holiday in it) and one weekday holiday, every
half-hour on the Stockholm wall clock is put to ``Policy.route_at`` for each
incident kind: the route that would own an outage opening then, and every
window that claims the time. Consecutive half-hours with the same answer on
every day are merged into one band, so the grid reads like the routine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from central.web.context import WebContext

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DAYS = ("Måndag", "Tisdag", "Onsdag", "Torsdag", "Fredag", "Lördag", "Söndag")
KINDS = ("single", "extensive")
_STEP = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Cell:
    owner: str
    window: str
    status: str
    """``covered``, ``uncovered`` (no named window: the fallback role owns it) or ``overlap``."""


@dataclass(frozen=True, slots=True)
class Band:
    start: time
    end: time
    cells: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Grid:
    kind: str
    columns: tuple[str, ...]
    bands: tuple[Band, ...]


@dataclass(frozen=True, slots=True)
class Coverage:
    policy_id: str
    policy_name: str
    fallback_role: str
    week_of: date
    holiday: tuple[date, str] | None
    grids: tuple[Grid, ...]


def _swedish_days(year: int) -> Any:
    return holidays.country_holidays("SE", years=[year, year + 1], categories=("public", "de_facto"))


def _ordinary_week(today: date) -> date:
    monday = today - timedelta(days=today.weekday())
    days = _swedish_days(today.year)
    while any(monday + timedelta(days=i) in days for i in range(7)):
        monday += timedelta(days=7)
    return monday


def _weekday_holiday(today: date) -> tuple[date, str] | None:
    days = _swedish_days(today.year)
    found = sorted((d, str(n)) for d, n in days.items() if d >= today and d.weekday() < 5)
    return found[0] if found else None


def _cell(policy: Any, kind: str, at: datetime) -> Cell:
    match = policy.route_at(kind, at)
    named = match.occurrence is not None
    status = "overlap" if len(match.claimed_by) > 1 else ("covered" if named else "uncovered")
    return Cell(owner=match.route.owner, window=match.window, status=status)


def _grid(policy: Any, kind: str, days: list[date], columns: tuple[str, ...]) -> Grid:
    slots = [time(h, m) for h in range(24) for m in (0, 30)]
    rows = [
        tuple(_cell(policy, kind, datetime.combine(d, s, STOCKHOLM).astimezone(policy.tz))
              for d in days)
        for s in slots
    ]
    bands: list[Band] = []
    for i, (slot, cells) in enumerate(zip(slots, rows, strict=True)):
        end = (datetime.combine(date.min, slot) + _STEP).time() if i + 1 < len(slots) else time(0)
        if bands and bands[-1].cells == cells:
            bands[-1] = Band(bands[-1].start, end, cells)
        else:
            bands.append(Band(slot, end, cells))
    return Grid(kind=kind, columns=columns, bands=tuple(bands))


def coverage(ctx: WebContext, today: date | None = None) -> Coverage:
    """The active policy's grid around ``today`` (default: today in Stockholm)."""
    policy = ctx.policy
    today = today or ctx.now().astimezone(STOCKHOLM).date()
    monday = _ordinary_week(today)
    days = [monday + timedelta(days=i) for i in range(7)]
    columns = DAYS
    holiday = _weekday_holiday(today)
    if holiday is not None:
        days.append(holiday[0])
        columns = (*DAYS, f"Helgdag ({holiday[1]})")
    grids = tuple(_grid(policy, kind, days, columns) for kind in KINDS if kind in policy.kinds)
    return Coverage(policy.id, policy.name, policy.fallback_role, monday, holiday, grids)

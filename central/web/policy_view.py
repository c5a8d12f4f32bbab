"""The policy page's weekly coverage grid, from ``policy check``'s own report.

:func:`central.policy.check.check_policy` cuts each day type (Monday to
Sunday of a week without holidays, and a weekday holiday) at every window
boundary and asks the engine's ``route_at`` who owns each piece. Here those
pieces become rows of a grid: one band per stretch of time in which no day
changes owner, one column per day type.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, time

from central.policy.check import CheckReport, Segment, check_policy
from central.policy.runtime import Policy

DAY_NAMES = {
    "mon": "Måndag",
    "tue": "Tisdag",
    "wed": "Onsdag",
    "thu": "Torsdag",
    "fri": "Fredag",
    "sat": "Lördag",
    "sun": "Söndag",
    "holiday": "Helgdag",
}
KINDS = ("single", "extensive")
"""The kinds staff own; ``infrastructure`` goes to IT and on-call at any hour."""


@dataclass(frozen=True, slots=True)
class Cell:
    owner: str
    window: str
    status: str
    """``covered``, ``uncovered`` (no route of the routine: the fallback role owns it)
    or ``overlap`` (claimed by more than one window)."""


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
    holiday: date | None
    grids: tuple[Grid, ...]


def _time(minutes: int) -> time:
    return time(0) if minutes >= 1440 else time(minutes // 60, minutes % 60)


def _cell(seg: Segment) -> Cell:
    status = "overlap" if len(seg.claimed_by) > 1 else "uncovered" if seg.uncovered else "covered"
    return Cell(seg.owner, seg.window, status)


def _grid(report: CheckReport, kind: str) -> Grid:
    labels = [label for label, _ in report.days]
    segments = [s for s in report.segments if s.kind == kind]
    cuts = sorted({s.start for s in segments} | {s.end for s in segments})
    bands: list[Band] = []
    for start, end in itertools.pairwise(cuts):
        cells = tuple(
            _cell(next(s for s in segments if s.day == day and s.start <= start < s.end))
            for day in labels
        )
        if bands and bands[-1].cells == cells:
            bands[-1] = Band(bands[-1].start, _time(end), cells)
        else:
            bands.append(Band(_time(start), _time(end), cells))
    columns = tuple(DAY_NAMES.get(label, label) for label in labels)
    return Grid(kind, columns, tuple(bands))


def coverage(policy: Policy) -> Coverage:
    """The active policy's weekly grid for single and extensive outages."""
    report = check_policy(policy)
    grids = tuple(_grid(report, kind) for kind in KINDS if kind in policy.kinds)
    holiday = dict(report.days).get("holiday")
    return Coverage(policy.id, policy.name, policy.fallback_role, holiday, grids)

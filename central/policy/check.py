"""``policy check``: who owns an outage at every hour of the week, and where
the routine leaves time uncovered or claimed twice (ROUTINE.md "Gaps").

Works on the compiled policy. A reference week without holidays stands for
Monday to Sunday, and a weekday holiday of the first calendar stands for
holidays (Midsummer Eve, Christmas Eve and New Year's Eve included when the
calendar has ``de_facto``). Each day is cut at every window boundary, and each
piece asks ``route_at`` who owns it: the same code the engine runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from central.policy.models import KINDS, WEEKDAYS
from central.policy.runtime import Policy
from central.policy.windows import local_to_utc

_REFERENCE = date(2027, 1, 4)
"""A Monday; the search for a clean week and a holiday starts here."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of one day type: ``[start, end)`` in minutes after local midnight."""

    day: str
    start: int
    end: int
    kind: str
    owner: str
    window: str
    claimed_by: tuple[str, ...]
    uncovered: bool

    @property
    def span(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


@dataclass(frozen=True, slots=True)
class CheckReport:
    policy: Policy
    days: tuple[tuple[str, date], ...]
    segments: tuple[Segment, ...]

    @property
    def gaps(self) -> list[Segment]:
        return [s for s in self.segments if s.uncovered]

    @property
    def overlaps(self) -> list[Segment]:
        return [s for s in self.segments if len(s.claimed_by) > 1]


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_types(policy: Policy) -> list[tuple[str, date]]:
    calendars = list(policy.calendars.values())

    def holiday(day: date) -> bool:
        return any(c.is_holiday(day) for c in calendars)

    monday = _REFERENCE
    while any(holiday(monday + timedelta(days=i)) for i in range(7)):
        monday += timedelta(days=7)
    days = [(WEEKDAYS[i], monday + timedelta(days=i)) for i in range(7)]
    if calendars:
        day = _REFERENCE
        while not (holiday(day) and day.weekday() < 5):
            day += timedelta(days=1)
        days.append(("holiday", day))
    return days


def check_policy(policy: Policy) -> CheckReport:
    """Cut each day type at every window boundary and ask who owns each piece."""
    cuts = sorted(
        {0, 1440}
        | {w.start for w in policy.windows.values()}
        | {w.end % 1440 for w in policy.windows.values()}
    )
    segments: list[Segment] = []
    days = _day_types(policy)
    for label, day in days:
        for start, end in pairwise(cuts):
            at = local_to_utc(day, start, policy.tz)
            for kind in KINDS:
                match = policy.route_at(kind, at)
                uncovered = match.occurrence is None and match.route.owner == policy.fallback_role
                segments.append(
                    Segment(
                        label,
                        start,
                        end,
                        kind,
                        match.route.owner,
                        match.window,
                        match.claimed_by,
                        uncovered,
                    )
                )
    return CheckReport(policy, tuple(days), tuple(_merge(segments)))


def _merge(segments: list[Segment]) -> list[Segment]:
    """Join neighbouring pieces of the same day and kind with the same answer."""
    out: list[Segment] = []
    for seg in sorted(segments, key=lambda s: (s.kind, s.day, s.start)):
        prev = out[-1] if out else None
        same = prev is not None and (
            prev.day,
            prev.kind,
            prev.owner,
            prev.window,
            prev.claimed_by,
        ) == (seg.day, seg.kind, seg.owner, seg.window, seg.claimed_by)
        if prev is not None and same and prev.end == seg.start:
            out[-1] = Segment(
                prev.day,
                prev.start,
                seg.end,
                seg.kind,
                seg.owner,
                seg.window,
                seg.claimed_by,
                seg.uncovered,
            )
        else:
            out.append(seg)
    return out


def _grouped_days(report: CheckReport, kind: str) -> list[tuple[list[str], list[Segment]]]:
    """Day types with identical rows share one line (Mon-Fri)."""
    groups: list[tuple[list[str], list[Segment]]] = []
    for label, _ in report.days:
        rows = [s for s in report.segments if s.kind == kind and s.day == label]
        key = [(s.start, s.end, s.owner, s.window, s.claimed_by) for s in rows]
        for days, existing in groups:
            if [(s.start, s.end, s.owner, s.window, s.claimed_by) for s in existing] == key:
                days.append(label)
                break
        else:
            groups.append(([label], rows))
    return groups


def _days(labels: list[str]) -> str:
    if len(labels) > 2 and all(lab in WEEKDAYS for lab in labels):
        idx = [WEEKDAYS.index(lab) for lab in labels]
        if idx == list(range(idx[0], idx[-1] + 1)):
            return f"{labels[0]}-{labels[-1]}"
    return ",".join(labels)


def render(report: CheckReport) -> str:
    """The weekly coverage table, then every gap and overlap, as plain text."""
    policy = report.policy
    holiday = dict(report.days).get("holiday")
    lines = [
        f"Policy {policy.id} ({policy.hash}): {policy.name}",
        f"Times are {policy.tz.key} wall clock. Fallback role: {policy.fallback_role}.",
    ]
    if holiday:
        lines.append(f"'holiday' = a weekday holiday (e.g. {holiday.isoformat()}).")
    for kind in KINDS:
        lines += ["", f"Weekly coverage: {kind} outages (owner, window)"]
        for labels, rows in _grouped_days(report, kind):
            cells = "  ".join(f"{s.span} {s.owner} ({s.window})" for s in rows)
            lines.append(f"  {_days(labels):<16} {cells}")
    lines += ["", "Uncovered windows (no route of the routine; owned by the fallback role):"]
    lines += _listing(report, report.gaps, lambda s: f"owned by {s.owner}") or ["  none"]
    lines += ["", "Overlapping windows (claimed by more than one window):"]
    lines += _listing(
        report, report.overlaps, lambda s: f"{' and '.join(s.claimed_by)}; {s.window} wins"
    ) or ["  none"]
    return "\n".join(lines)


def _listing(
    report: CheckReport, picked: list[Segment], say: Callable[[Segment], str]
) -> list[str]:
    out = []
    for kind in KINDS:
        for labels, rows in _grouped_days(report, kind):
            for seg in rows:
                if seg in picked:
                    out.append(f"  {kind:<14} {_days(labels):<16} {seg.span}: {say(seg)}")
    return out

"""Named weekly time windows in the policy's time zone (Europe/Stockholm).

An occurrence belongs to the local date it starts on: the night of Friday
21:30 to Saturday 07:30 is Friday's, so the day and holiday filter looks at
Friday. Local times are turned into UTC with ``fold=0``: a time skipped by the
spring change moves forward by the gap, a time that occurs twice in autumn
counts once, at its first occurrence (ROUTINE.md "Defaults"). Everything here
is pure: ``contains(t)`` and friends take the time as an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from central.policy.calendar import Calendar

_SEARCH_DAYS = 400
"""How far ahead to look for a window's next start: more than a year, so a
window limited to holidays still finds one."""


def local_to_utc(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """Local wall-clock ``day`` + ``minutes`` after midnight, as UTC (``fold=0``)."""
    day = day + timedelta(days=minutes // 1440)
    clock = time(hour=(minutes % 1440) // 60, minute=minutes % 60)
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of a window, in UTC, and the local date it belongs to."""

    window: str
    day: date
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Window:
    """A compiled window. ``holidays`` is ``ignore``, ``exclude`` (not on the
    calendar's holidays) or ``only`` (only on them)."""

    name: str
    days: frozenset[int]
    start: int
    end: int
    tz: ZoneInfo
    calendar: Calendar | None = None
    holidays: str = "ignore"
    description: str = ""

    def applies_on(self, day: date) -> bool:
        """Whether an occurrence starts on this local date."""
        if day.weekday() not in self.days:
            return False
        if self.calendar is None or self.holidays == "ignore":
            return True
        return self.calendar.is_holiday(day) == (self.holidays == "only")

    def occurrence_on(self, day: date) -> Occurrence | None:
        if not self.applies_on(day):
            return None
        end_minutes = self.end if self.end > self.start else self.end + 1440
        start = local_to_utc(day, self.start, self.tz)
        return Occurrence(self.name, day, start, local_to_utc(day, end_minutes, self.tz))

    def occurrence_at(self, now: datetime) -> Occurrence | None:
        """The occurrence containing ``now`` (start inclusive, end exclusive), if any."""
        today = now.astimezone(self.tz).date()
        for day in (today, today - timedelta(days=1)):
            occ = self.occurrence_on(day)
            if occ is not None and occ.start <= now < occ.end:
                return occ
        return None

    def contains(self, now: datetime) -> bool:
        return self.occurrence_at(now) is not None

    def next_occurrence(self, now: datetime) -> Occurrence | None:
        """The first occurrence that starts at or after ``now``."""
        day = now.astimezone(self.tz).date() - timedelta(days=1)
        for offset in range(_SEARCH_DAYS):
            occ = self.occurrence_on(day + timedelta(days=offset))
            if occ is not None and occ.start >= now:
                return occ
        return None

"""The registry: which homes exist, their home-care group, the client's
scheduled night checks and agreed visit plan, paused or active, and the
equipment ids a vendor report needs. The optional ``label`` is personal data:
it is for signed-in staff only, never on MQTT, in logs or to a vendor."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Home:
    """One registered gateway's home. Times are local wall-clock (Europe/Stockholm)."""

    gateway: str
    homecare_group: str
    night_checks: tuple[time, ...] = ()
    active: bool = True
    label: str = field(default="", repr=False)
    camera_serial: str = ""
    router_serial: str = ""
    relay: bool = True
    visit_plan: tuple[time, ...] | None = None
    camera_mac: str = ""
    router_mac: str = ""

    @property
    def visits(self) -> tuple[time, ...]:
        """When the night patrol visits instead of the checks: the agreed plan, else the checks."""
        return self.visit_plan if self.visit_plan is not None else self.night_checks

    def visits_between(self, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
        """The visit plan's times in ``[start, end)`` as UTC (see :func:`occurrences`)."""
        return occurrences(self.visits, start, end, tz)

    def checks_between(self, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
        """The scheduled night checks in ``[start, end)`` as UTC (see :func:`occurrences`)."""
        return occurrences(self.night_checks, start, end, tz)


def occurrences(
    clocks: tuple[time, ...], start: datetime, end: datetime, tz: ZoneInfo
) -> list[datetime]:
    """Daily local wall-clock times in ``[start, end)``, as UTC, sorted.

    Converted with ``fold=0``: a time the spring change skips moves forward by
    the gap (02:30 on 2027-03-28 is 03:30 CEST), a time that occurs twice
    counts once, at its first occurrence (ROUTINE.md "Defaults").
    """
    if not clocks:
        return []
    out: set[datetime] = set()
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        out.update(_utc(day, clock, tz) for clock in clocks)
        day += timedelta(days=1)
    return sorted(t for t in out if start <= t < end)


def _utc(day: date, clock: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


class Registry:
    """Homes by gateway id. Immutable once built; an import builds a new one."""

    def __init__(self, homes: Iterable[Home] = ()) -> None:
        self._homes = {h.gateway: h for h in homes}
        self._active = sum(1 for h in self._homes.values() if h.active)

    def __len__(self) -> int:
        return len(self._homes)

    def __iter__(self) -> Iterator[Home]:
        return iter(self._homes.values())

    def __contains__(self, gateway: object) -> bool:
        return gateway in self._homes

    def get(self, gateway: str) -> Home | None:
        return self._homes.get(gateway)

    @property
    def active_count(self) -> int:
        return self._active

    def active(self) -> list[Home]:
        return [h for h in self._homes.values() if h.active]

"""Holiday calendars: which local dates are holidays, through the ``holidays``
package. For Sweden with ``categories=("public", "de_facto")`` that is every
public holiday plus Midsummer Eve, Christmas Eve and New Year's Eve, which
Swedish labour law treats as Sundays (ROUTINE.md "Gaps": *helgfri vardag*)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import holidays


@dataclass(frozen=True, slots=True)
class Calendar:
    """A named holiday calendar; pure apart from a per-year cache of the
    ``holidays`` lookup (deterministic for a given package version)."""

    name: str
    country: str
    categories: tuple[str, ...]
    extra_dates: frozenset[date] = frozenset()
    _years: dict[int, dict[date, str]] = field(default_factory=dict, compare=False, repr=False)

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name, or ``None`` on an ordinary day."""
        if day in self.extra_dates:
            return "extra date"
        year = self._years.get(day.year)
        if year is None:
            found = holidays.country_holidays(
                self.country, years=day.year, categories=self.categories
            )
            year = dict(found.items())
            self._years[day.year] = year
        return year.get(day)

    def is_holiday(self, day: date) -> bool:
        return self.holiday_name(day) is not None

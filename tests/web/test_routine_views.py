from datetime import UTC, datetime

import pytest

from central.web.routine import night_bounds
from central.web.templating import clock, when


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        # 01:30 in Stockholm (CET) belongs to the night that began the evening before.
        ("2027-03-10T00:30:00Z", "2027-03-09T11:00:00Z", "2027-03-10T11:00:00Z"),
        # 13:00 in Stockholm: tonight is the coming night.
        ("2027-03-10T12:00:00Z", "2027-03-10T11:00:00Z", "2027-03-11T11:00:00Z"),
        # The spring change (28 March 2027): noon to noon is 23 hours long.
        ("2027-03-28T01:30:00Z", "2027-03-27T11:00:00Z", "2027-03-28T10:00:00Z"),
    ],
)
def test_routine_views_night_bounds_run_noon_to_noon_in_stockholm(
    now: str, start: str, end: str
) -> None:
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    assert night_bounds(at(now)) == (at(start), at(end))


def test_routine_views_times_are_shown_on_the_stockholm_clock() -> None:
    summer = datetime(2027, 6, 30, 22, 15, tzinfo=UTC)
    assert clock(summer) == "00:15"
    assert when(summer) == "tors 1 juli 00:15"
    assert clock(None) == "–"

"""The demo's shared clock: start, speed, and the same time in another process."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from sim.clock import ScaledClock, parse_local
from sim.errors import SimError


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_clock_parse_local_reads_stockholm_wall_clock() -> None:
    assert parse_local("2027-01-12 13:55") == datetime(2027, 1, 12, 12, 55, tzinfo=UTC)
    assert parse_local("2027-07-12 13:55") == datetime(2027, 7, 12, 11, 55, tzinfo=UTC)
    assert parse_local("2027-01-12T12:55:00Z") == datetime(2027, 1, 12, 12, 55, tzinfo=UTC)


def test_clock_parse_local_rejects_garbage_with_the_form() -> None:
    with pytest.raises(SimError, match="2027-01-12 13:55"):
        parse_local("tomorrow")


def test_clock_runs_speed_times_faster_from_its_start() -> None:
    ticks = Ticks()
    clock = ScaledClock(parse_local("2027-01-12 13:55"), 30, anchor=100.0, monotonic=ticks)
    assert clock() == datetime(2027, 1, 12, 12, 55, tzinfo=UTC)
    ticks.now += 2
    assert clock() == datetime(2027, 1, 12, 12, 56, tzinfo=UTC)
    assert clock.local().strftime("%H:%M") == "13:56"
    assert clock.real_seconds_until(clock() + timedelta(minutes=30)) == 60


def test_clock_spec_gives_another_process_the_same_time() -> None:
    clock = ScaledClock(parse_local("2027-01-12 13:55"), 120)
    code = (
        "import sys; from sim.clock import ScaledClock; "
        "print(ScaledClock.from_spec(sys.argv[1])().isoformat())"
    )
    before = clock()
    out = subprocess.run(
        [sys.executable, "-c", code, clock.spec()], capture_output=True, text=True, check=True
    )
    after = clock()
    theirs = datetime.fromisoformat(out.stdout.strip())
    assert before <= theirs <= after


def test_clock_from_spec_names_the_form_when_malformed() -> None:
    with pytest.raises(SimError, match="START,SPEED,ANCHOR"):
        ScaledClock.from_spec("2027-01-12,fast")


def test_clock_rejects_a_naive_start_and_a_silly_speed() -> None:
    with pytest.raises(SimError, match="aware"):
        ScaledClock(datetime(2027, 1, 12), 30)
    with pytest.raises(SimError, match="speed"):
        ScaledClock(parse_local("2027-01-12 13:55"), 0)

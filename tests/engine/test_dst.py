"""Daylight-saving nights (ROUTINE.md "Defaults"): a check at a time the spring
change skips moves forward by the gap; one that occurs twice in autumn counts
once, at its first occurrence."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.policy import load_policy
from tests.engine.helpers import Run, local, registry, utc

GWS = ("gw-a", "gw-b", "gw-c")


def night_outage(start_utc: str, checks: str, hours: int = 10) -> Run:
    run = Run(registry([f"{gw},g1,{checks},yes,yes,C,R," for gw in GWS]))
    t = utc(start_utc)
    for gw in GWS:
        run.report(t - timedelta(hours=1), gw)
    run.report(t, "gw-a", camera="failed")
    run.alive(t, t + timedelta(hours=hours))
    return run


@pytest.mark.parametrize(
    ("start_utc", "checks", "expected_utc"),
    [
        pytest.param(
            "2027-03-27 22:00",
            "02:30 04:30",
            ["2027-03-28 01:30", "2027-03-28 02:30"],
            id="spring-0230-becomes-0330-cest",
        ),
        pytest.param(
            "2027-10-30 22:00",
            "02:30 04:30",
            ["2027-10-31 00:30", "2027-10-31 03:30"],
            id="autumn-0230-once-first-occurrence",
        ),
        pytest.param(
            "2027-03-27 22:00", "22:30 01:30", ["2027-03-28 00:30"], id="spring-ordinary-check"
        ),
    ],
)
def test_dst_night_visit_check_times(start_utc: str, checks: str, expected_utc: list[str]) -> None:
    run = night_outage(start_utc, checks)
    got = [d.check for d in run.tasks("physical_visit")]
    assert got == [utc(t) for t in expected_utc]


def test_dst_spring_night_window_is_one_hour_shorter() -> None:
    night = load_policy().windows["night"]
    occ = night.occurrence_at(local("2027-03-28 01:00"))
    assert occ is not None
    assert (occ.start, occ.end) == (utc("2027-03-27 20:30"), utc("2027-03-28 05:30"))
    assert occ.end - occ.start == timedelta(hours=9)


def test_dst_autumn_night_window_is_one_hour_longer() -> None:
    night = load_policy().windows["night"]
    occ = night.occurrence_at(utc("2027-10-31 01:30"))
    assert occ is not None
    assert occ.end - occ.start == timedelta(hours=11)


def test_dst_autumn_outage_in_repeated_hour_routes_to_night() -> None:
    run = night_outage("2027-10-31 01:30", "04:30", hours=4)
    opened = [d for d in run.decisions if d.event.value == "incident_opened"]
    assert [(d.role, d.at) for d in opened] == [("nattpatrullen", utc("2027-10-31 01:30"))]
    assert [d.check for d in run.tasks("physical_visit")] == [utc("2027-10-31 03:30")]

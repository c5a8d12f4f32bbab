"""Scenario files: validation that names the key and the fix, and the times they resolve to."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sim.clock import STOCKHOLM, parse_local
from sim.demo import STORY
from sim.errors import SimError
from sim.fleet import gateway_id
from sim.scenario import load_scenario, parse_scenario, schedule

HOMES = [gateway_id(i) for i in range(1, 21)]


def test_scenario_times_run_past_midnight_in_order() -> None:
    spec = parse_scenario(
        """
        [[events]]
        at = "23:50"
        do = "say"
        [[events]]
        at = "00:10"
        do = "say"
        [[events]]
        at = "+30m"
        do = "say"
        """
    )
    start = parse_local("2027-01-12 22:00")
    steps = schedule(spec, start, HOMES)
    local = [s.when.astimezone(STOCKHOLM).strftime("%d %H:%M") for s in steps]
    assert local == ["12 23:50", "13 00:10", "12 22:30"]


def test_scenario_areas_expand_to_their_homes() -> None:
    spec = parse_scenario(
        """
        [areas]
        street = ["gw-11", "gw-12"]
        [[events]]
        at = "22:10"
        do = "power_off"
        area = "street"
        homes = ["gw-12", "gw-13"]
        """
    )
    (step,) = schedule(spec, parse_local("2027-01-12 22:00"), HOMES)
    assert step.homes == ("gw-12", "gw-13", "gw-11")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ('at = "14:00"\ndo = "hang"\nhomes = ["gw-01"]', "needs device = router or camera"),
        ('at = "14:00"\ndo = "power_off"', "give homes or area"),
        ('at = "14:00"\ndo = "power_off"\narea = "nowhere"', "no such area"),
        ('at = "2 pm"\ndo = "say"', "write HH:MM"),
        ('at = "14:00"\ndo = "explode"', "events.0.do"),
        ('at = "14:00"\ndo = "say"\ncolour = "red"', "events.0.colour"),
        ('at = "14:00"\ndo = "broker_restart"\ndown = "soon"', "90s, 2m or 1h"),
        ('at = "14:00"\ndo = "ack"', "'ack' needs the role"),
    ],
)
def test_scenario_problems_name_the_key_and_the_fix(event: str, message: str) -> None:
    with pytest.raises(SimError, match=message):
        parse_scenario(f"[[events]]\n{event}\n")


def test_scenario_unknown_home_says_how_to_fix_it() -> None:
    text = '[[events]]\nat = "14:00"\ndo = "dead"\nhomes = ["gw-30"]\ndevice = "camera"\n'
    spec = parse_scenario(text)
    with pytest.raises(SimError, match="no home gw-30 in a fleet of 20; use more --homes"):
        schedule(spec, parse_local("2027-01-12 13:55"), HOMES)


def test_scenario_demo_story_tells_the_whole_story_in_order() -> None:
    spec = load_scenario(STORY)
    start = parse_local(spec.start or "")
    steps = schedule(spec, start, HOMES)
    assert [s.when for s in steps] == sorted(s.when for s in steps)
    actions = [s.do for s in steps]
    for needed in ("hang", "dead", "power_off", "power_on", "repair", "ack"):
        assert needed in actions
    assert steps[-1].when - start < timedelta(hours=11)
    (cut,) = [s for s in steps if s.do == "power_off"]
    assert len(cut.homes) == 5

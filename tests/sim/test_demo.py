"""What the demo prints when the dashboard is up: what the README promises."""

from __future__ import annotations

import time

import pytest

from sim.clock import ScaledClock, parse_local
from sim.demo import DemoOptions, _welcome


def test_demo_banner_names_the_story_start_and_the_log_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Printed before the homes are up, the clock still reads before the story's start
    (13:47 for 13:55): the banner says both, so the README's 13:55 is not a surprise."""
    clock = ScaledClock(parse_local("2027-01-12 13:55"), 120, time.monotonic() + 4)
    _welcome("http://127.0.0.1:8080", DemoOptions(), clock, 2)
    out = " ".join(capsys.readouterr().out.split())
    assert "Tuesday 2027-01-12 13:47 Stockholm time, 120x real time" in out
    assert "the story starts at 13:55" in out
    assert "(central/central.log," in out

"""Policy files: good ones load, bad ones name the key, the value and the fix;
the calendar knows Swedish holidays and eves; ``policy check`` reports the
routine's gaps and overlaps (ROUTINE.md "Gaps")."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from central.cli import main
from central.errors import PolicyError
from central.policy import default_policy_text, load_policy, parse_policy
from central.policy.check import check_policy
from tests.engine.helpers import local

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("path", sorted(DATA.glob("good-*.toml")), ids=lambda p: p.name)
def test_policy_good_files_load(path: Path) -> None:
    policy = load_policy(path)
    assert policy.fallback_role == "jour"


BAD = [
    ("bad-unknown-role.toml", "steps.physical_visit.role", "use one of: jour"),
    ("bad-extra-key.toml", "windows.night.holiday", "remove the key"),
    ("bad-time.toml", "windows.night.start", 'write "HH:MM"'),
    ("bad-action.toml", "steps.physical_visit.action", "use one of the values"),
    ("bad-undefined-window.toml", "routes[1].window", "use one of: night, otherwise"),
    ("bad-duration.toml", "defaults.ack_deadline", 'write it like "15m"'),
    ("bad-fallback-role.toml", "fallback_role", "use one of: jour"),
    ("bad-holidays-without-calendar.toml", "windows.night.calendar", "add calendar"),
    ("bad-empty-window.toml", "windows.night.end", "give different times"),
]


@pytest.mark.parametrize(("name", "where", "fix"), BAD)
def test_policy_bad_file_names_key_and_fix(name: str, where: str, fix: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(DATA / name)
    problems = caught.value.problems
    assert [p.where for p in problems] == [where]
    assert fix in problems[0].fix


def test_policy_bad_files_are_all_tested() -> None:
    assert {p.name for p in DATA.glob("bad-*.toml")} == {name for name, _, _ in BAD}


@pytest.mark.parametrize(
    ("day", "holiday"),
    [
        (date(2027, 6, 25), True),  # Midsummer Eve (de facto)
        (date(2027, 12, 24), True),  # Christmas Eve (de facto)
        (date(2027, 12, 31), True),  # New Year's Eve (de facto)
        (date(2027, 3, 26), True),  # Good Friday
        (date(2027, 3, 29), True),  # Easter Monday
        (date(2027, 6, 6), True),  # National Day
        (date(2027, 3, 9), False),
        (date(2027, 12, 23), False),
    ],
)
def test_policy_calendar_public_and_de_facto_holidays(day: date, holiday: bool) -> None:
    assert load_policy().calendars["sverige"].is_holiday(day) is holiday


@pytest.mark.parametrize(
    ("when", "office", "night"),
    [
        ("2027-03-09 06:29", False, True),
        ("2027-03-09 06:30", True, True),
        ("2027-03-09 07:30", True, False),
        ("2027-03-09 16:00", False, False),
        ("2027-03-09 21:30", False, True),
        ("2027-12-24 10:00", False, False),
        ("2027-03-13 10:00", False, False),
        ("2027-03-14 02:00", False, True),
    ],
)
def test_policy_windows_contain_local_times(when: str, office: bool, night: bool) -> None:
    windows = load_policy().windows
    at = local(when)
    assert (windows["office"].contains(at), windows["night"].contains(at)) == (office, night)


def test_policy_check_default_reports_the_routines_gaps_and_overlap() -> None:
    report = check_policy(load_policy())
    gaps = sorted({(s.kind, s.day, s.span, s.owner) for s in report.gaps})
    weekdays = [
        ("extensive", d, "16:00-21:30", "jour") for d in ("mon", "tue", "wed", "thu", "fri")
    ]
    others = [("extensive", d, "07:30-21:30", "jour") for d in ("holiday", "sat", "sun")]
    assert gaps == sorted(weekdays + others)
    overlaps = sorted({(s.kind, s.day, s.span, s.window) for s in report.overlaps})
    assert overlaps == sorted(
        (kind, d, "06:30-07:30", "office")
        for kind in ("single", "extensive")
        for d in ("mon", "tue", "wed", "thu", "fri")
    )


def test_policy_check_cli_prints_table_and_gaps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check"]) == 0
    out = capsys.readouterr().out
    assert "Weekly coverage: extensive outages" in out
    assert "extensive      mon-fri          16:00-21:30: owned by jour" in out
    assert "extensive      sat,sun,holiday  07:30-21:30: owned by jour" in out
    assert "single         mon-fri          06:30-07:30: night and office; office wins" in out


def test_policy_check_cli_invalid_exits_nonzero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check", str(DATA / "bad-unknown-role.toml")]) == 2
    err = capsys.readouterr().err
    assert "steps.physical_visit.role" in err and "fix: use one of: jour" in err


def test_policy_extra_dates_close_office_hours() -> None:
    """A municipality's own extra day off (``extra_dates``) is a holiday for the
    windows that exclude holidays: no office hours on it."""
    text = default_policy_text().replace("extra_dates = []", "extra_dates = [2027-03-10]")
    policy = parse_policy(text)
    assert policy.calendars["sverige"].is_holiday(date(2027, 3, 10))
    assert not policy.windows["office"].contains(local("2027-03-10 10:00"))
    assert policy.windows["office"].contains(local("2027-03-11 10:00"))
    assert load_policy().windows["office"].contains(local("2027-03-10 10:00"))

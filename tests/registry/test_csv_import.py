"""The registry CSV import (docs/registry.md): every bad row is reported with
its line number and the fix, and an import with any bad row imports nothing."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from central.errors import RegistryError
from central.registry import load_registry, read_registry_csv

HEADER = (
    "gateway,homecare_group,night_checks,active,label,camera_serial,router_serial,relay,visit_plan"
)
GOOD = (
    HEADER
    + """
gw-0001,Tumba norr,22:30 01:30 04:30,yes,Anna A,CAM-1,RTR-1,yes,
gw-0002,Tumba norr,,no,,CAM-2,RTR-2,,
gw-0003,Alby,23:00,,"Berg, Bo",CAM-3,RTR-3,no,23:30 03:00
"""
)


def test_registry_csv_good_rows_parse_with_defaults() -> None:
    result = read_registry_csv(GOOD)
    assert result.ok
    one, two, three = result.homes
    assert one.night_checks == (time(1, 30), time(4, 30), time(22, 30))
    assert (one.active, one.relay, one.visits) == (True, True, one.night_checks)
    assert (two.active, two.night_checks, two.relay) == (False, (), True)
    assert (three.label, three.relay, three.visits) == ("Berg, Bo", False, (time(3), time(23, 30)))


def test_registry_csv_label_never_in_repr() -> None:
    home = read_registry_csv(GOOD).homes[0]
    assert "Anna" not in repr(home)


BAD_ROWS = [
    ("GW-1,g,22:30", "line 2, column gateway", "e.g. gw-0042"),
    ("gw-1,,22:30", "line 2, column homecare_group", "home-care group"),
    ("gw-1,g,22.30", "line 2, column night_checks", '"HH:MM"'),
    ("gw-1,g,25:00", "line 2, column night_checks", '"HH:MM"'),
    ("gw-1,g,22:30 22:30", "line 2, column night_checks", "each time once"),
    ("gw-1,g,22:30,maybe", "line 2, column active", "yes or no"),
    ("gw-1,g,22:30,yes,,,,ja", "line 2, column relay", "yes or no"),
    ("gw-1,g,22:30,yes,,,,yes,7", "line 2, column visit_plan", '"HH:MM"'),
]
MAC_HEADER = "gateway,homecare_group,night_checks,camera_mac,router_mac"


def test_registry_csv_equipment_macs_normalised() -> None:
    text = f"{MAC_HEADER}\ngw-1,g,22:30,00-1A-2B-3C-4D-5E,aa:bb:cc:dd:ee:0f\ngw-2,g,,,\n"
    one, two = read_registry_csv(text).homes
    assert (one.camera_mac, one.router_mac) == ("00:1a:2b:3c:4d:5e", "aa:bb:cc:dd:ee:0f")
    assert (two.camera_mac, two.router_mac) == ("", "")


@pytest.mark.parametrize("mac", ["00:1a:2b:3c:4d", "00:1a:2b:3c:4d:5g", "00:1a-2b:3c:4d:5e"])
def test_registry_csv_bad_mac_reports_line_and_fix(mac: str) -> None:
    result = read_registry_csv(f"{MAC_HEADER}\ngw-1,g,22:30,{mac},\n")
    assert [p.where for p in result.problems] == ["line 2, column camera_mac"]
    assert "six hex pairs" in result.problems[0].fix


@pytest.mark.parametrize(("row", "where", "fix"), BAD_ROWS)
def test_registry_csv_bad_row_reports_line_and_fix(row: str, where: str, fix: str) -> None:
    result = read_registry_csv(f"{HEADER}\n{row}\n")
    assert not result.ok and result.homes == []
    assert [p.where for p in result.problems] == [where]
    assert fix in result.problems[0].fix


def test_registry_csv_any_bad_row_imports_nothing_and_lists_all() -> None:
    text = GOOD + "gw-0004,g,nine\ngw-0001,g,22:00\n"
    result = read_registry_csv(text)
    assert result.homes == []
    assert [p.where for p in result.problems] == [
        "line 5, column night_checks",
        "line 6, gateway",
    ]
    assert "already on line 2" in result.problems[1].fix


def test_registry_csv_header_problems() -> None:
    result = read_registry_csv("gateway,group,night_checks\ngw-1,g,\n")
    assert [(p.where, p.message) for p in result.problems] == [
        ("line 1 (header)", "no column 'homecare_group'"),
        ("line 1 (header)", "unknown column"),
    ]


def test_registry_load_raises_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "homes.csv"
    path.write_text("gateway,homecare_group,night_checks\nbad id,,x\n")
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert len(caught.value.problems) == 3
    assert "line 2, column gateway" in str(caught.value)


def test_registry_load_good_file(tmp_path: Path) -> None:
    path = tmp_path / "homes.csv"
    path.write_text(GOOD)
    registry = load_registry(path)
    assert (len(registry), registry.active_count) == (3, 2)

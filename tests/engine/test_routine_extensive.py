"""Extensive outages (ROUTINE.md "Extensive outage", "Gaps"): 3 homes failing
within 15 minutes become one incident whose window is fixed when it opens;
uncovered windows go to the fallback role ``jour``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.engine import Acknowledge, TaskRef
from tests.engine.helpers import Run, local, registry

GWS = [f"gw-{i}" for i in range(6)]


def extensive(
    start: str, hours: float, checks: str = "", failing: int = 3, spacing_min: int = 5
) -> Run:
    run = Run(registry([f"{g},g1,{checks},yes,yes,CAM-{g},RTR-{g}," for g in GWS]))
    t = local(start)
    for gw in GWS:
        run.report(t - timedelta(hours=1), gw)
    run.alive(t - timedelta(minutes=30), t)
    for k in range(failing):
        run.report(t + timedelta(minutes=spacing_min * k), GWS[k], camera="failed")
    run.alive(t, t + timedelta(hours=hours))
    return run


def ext_rows(run: Run) -> list[tuple[object, ...]]:
    return [
        (d.at, d.event.value, d.role, d.action)
        for d in run.decisions
        if d.kind == "extensive" and d.event.value in ("incident_opened", "task_created")
    ]


EXTENSIVE_CASES = [
    pytest.param(
        "2027-03-09 10:00",
        [("larmgruppen", None), ("larmgruppen", "vendor_report")],
        id="weekday-office-alarm-group",
    ),
    pytest.param(
        "2027-03-10 07:00",
        [("larmgruppen", None), ("larmgruppen", "vendor_report")],
        id="overlap-0630-0730-office-wins",
    ),
    pytest.param(
        "2027-03-09 23:00",
        [
            ("nattpatrullen", None),
            ("nattpatrullen", "vendor_report"),
            ("it_funktion", "it_ownership"),
        ],
        id="night-patrol-and-it",
    ),
    pytest.param(
        "2027-03-09 17:00",
        [("jour", None), ("jour", "vendor_report")],
        id="weekday-evening-uncovered-to-jour",
    ),
    pytest.param(
        "2027-03-13 10:00",
        [("jour", None), ("jour", "vendor_report")],
        id="saturday-uncovered-to-jour",
    ),
    pytest.param(
        "2027-03-26 10:00",
        [("jour", None), ("jour", "vendor_report")],
        id="good-friday-uncovered-to-jour",
    ),
    pytest.param(
        "2027-12-24 10:00",
        [("jour", None), ("jour", "vendor_report")],
        id="christmas-eve-uncovered-to-jour",
    ),
]


@pytest.mark.parametrize(("start", "expected"), EXTENSIVE_CASES)
def test_extensive_outage_owner_by_window(
    start: str, expected: list[tuple[str, str | None]]
) -> None:
    run = extensive(start, 0.5)
    third = local(start) + timedelta(minutes=10)
    assert ext_rows(run) == [(third, "incident_opened", *expected[0])] + [
        (third, "task_created", role, action) for role, action in expected[1:]
    ]


def test_extensive_outage_suppresses_single_tasks_and_closes_singles() -> None:
    run = extensive("2027-03-09 10:00", 0.5)
    singles = [d for d in run.decisions if d.kind == "single"]
    assert [(d.event.value, d.action) for d in singles] == [
        ("incident_opened", None),
        ("task_created", "contact_homecare"),
        ("incident_opened", None),
        ("task_created", "contact_homecare"),
        ("cancelled", "contact_homecare"),
        ("incident_closed", None),
        ("cancelled", "contact_homecare"),
        ("incident_closed", None),
    ]
    opened = next(
        d for d in run.decisions if d.event.value == "incident_opened" and d.kind == "extensive"
    )
    assert opened.gateways == ("gw-0", "gw-1", "gw-2")


def test_extensive_outage_keeps_every_home_visits_once() -> None:
    run = extensive("2027-03-09 21:00", 1, checks="22:30")
    visits = [(d.incident, d.gateways, d.task) for d in run.tasks("physical_visit")]
    assert len(visits) == 3
    assert {v[0] for v in visits} == {
        next(d.incident for d in run.decisions if d.kind == "extensive")
    }
    assert len({v[2] for v in visits}) == 3


def test_extensive_outage_moves_visits_created_before_grouping() -> None:
    run = extensive("2027-03-09 23:00", 1, checks="01:30")
    visits = run.tasks("physical_visit")
    assert [d.kind for d in visits] == ["single", "single", "extensive"]
    ext = next(d.incident for d in run.decisions if d.kind == "extensive")
    record = run.engine.incidents[ext]
    assert sorted(
        str(t.gateway) for t in record.tasks.values() if t.action == "physical_visit"
    ) == [
        "gw-0",
        "gw-1",
        "gw-2",
    ]
    assert not [
        d for d in run.decisions if d.event.value == "cancelled" and d.action == "physical_visit"
    ]


def test_extensive_outage_later_home_joins_with_membership_update() -> None:
    run = extensive("2027-03-09 10:00", 0.5, failing=4)
    updates = [d.gateways for d in run.decisions if d.event.value == "incident_updated"]
    assert updates == [("gw-0", "gw-1", "gw-2", "gw-3")]


def test_extensive_outage_needs_failures_within_window() -> None:
    run = extensive("2027-03-09 10:00", 1, spacing_min=8)
    assert not [d for d in run.decisions if d.kind == "extensive"]
    assert len([d for d in run.decisions if d.event.value == "incident_opened"]) == 3


def test_extensive_outage_task_open_at_window_end_is_handed_over() -> None:
    run = Run(registry([f"{g},g1,,yes,yes,C,R," for g in GWS]))
    t = local("2027-03-09 15:00")
    for gw in GWS:
        run.report(t - timedelta(hours=1), gw)
    for k in range(3):
        run.report(t + timedelta(minutes=k), GWS[k], camera="failed")
    report = next(d for d in run.tasks("vendor_report"))
    run.feed(Acknowledge(t + timedelta(minutes=5), TaskRef(task=report.task), "anna"))
    run.alive(t, local("2027-03-10 08:00"))
    handed = [
        d
        for d in run.decisions
        if d.reason.startswith("handover") or d.event.value == "task_created"
    ]
    rows = [r for r in Run.rows_of(handed) if r[3] == "vendor_report"]
    assert rows == [
        ("2027-03-09 15:02", "task_created", "larmgruppen", "vendor_report", None),
        ("2027-03-09 16:00", "escalated", "jour", "vendor_report", None),
        ("2027-03-09 21:30", "escalated", "nattpatrullen", "vendor_report", None),
        ("2027-03-10 07:30", "escalated", "larmgruppen", "vendor_report", None),
    ]
    assert ("2027-03-09 21:45", "reminder", "nattpatrullen", "vendor_report", None) in run.table()


def test_extensive_outage_recovery_tells_everyone_and_orders_incident_report() -> None:
    run = Run(registry([f"{g},g1,,yes,yes,C,R," for g in GWS]))
    t = local("2027-03-09 23:00")
    for gw in GWS:
        run.report(t - timedelta(hours=1), gw)
    for k in range(3):
        run.report(t + timedelta(minutes=k), GWS[k], camera="failed")
    back = local("2027-03-10 02:00")
    run.alive(t, back)
    for k in range(3):
        run.report(back + timedelta(minutes=k), GWS[k], camera="up")
    run.alive(back + timedelta(minutes=3), back + timedelta(minutes=30))
    closing = [(r[1], r[2], r[3]) for r in run.table() if r[0] == "2027-03-10 02:12"]
    assert closing == [
        ("cancelled", "jour", "vendor_report"),
        ("cancelled", "jour", "it_ownership"),
        ("task_created", "enhetschef", "status_report"),
        ("task_created", "it_funktion", "status_report"),
        ("task_created", "jour", "status_report"),
        ("task_created", "larmgruppen", "status_report"),
        ("task_created", "nattpatrullen", "status_report"),
        ("task_created", "it_funktion", "incident_report"),
        ("incident_closed", None, None),
    ]
    incident = next(i for i in run.engine.incidents.values() if i.kind == "extensive")
    assert (incident.owner, sorted(incident.recovered)) == (
        "nattpatrullen",
        ["gw-0", "gw-1", "gw-2"],
    )

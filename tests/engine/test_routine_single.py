"""Single outages across the week (ROUTINE.md "Defaults of the shipped policy"):
who gets which task when, by local Stockholm time. One home's automatic
restart is exhausted at the given time; its camera stays down."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.engine.helpers import Run, local, registry

CHECKS = "22:30 01:30 04:30"
GWS = ("gw-a", "gw-b", "gw-c")


def outage(start: str, hours: int, checks: str = CHECKS, active: str = "yes") -> Run:
    run = Run(registry([f"{gw},g1,{checks},{active},yes,CAM,RTR," for gw in GWS]))
    t = local(start)
    for gw in GWS:
        run.report(t - timedelta(hours=1), gw)
    run.alive(t - timedelta(minutes=30), t)
    run.report(t, "gw-a", camera="failed")
    run.alive(t, t + timedelta(hours=hours))
    return run


VISITS_TUE = [
    ("2027-03-09 21:30", "task_created", "nattpatrullen", "physical_visit", "2027-03-09 22:30"),
    ("2027-03-09 21:30", "task_created", "nattpatrullen", "physical_visit", "2027-03-10 01:30"),
    ("2027-03-09 21:30", "task_created", "nattpatrullen", "physical_visit", "2027-03-10 04:30"),
]

SINGLE_CASES = [
    pytest.param(
        CHECKS,
        "2027-03-09 10:00",
        14,
        [
            ("2027-03-09 10:00", "incident_opened", "larmgruppen", None, None),
            ("2027-03-09 10:00", "task_created", "larmgruppen", "contact_homecare", None),
            ("2027-03-09 16:00", "task_created", "nattpatrullen", "notify_night_patrol", None),
            *VISITS_TUE,
        ],
        id="weekday-office-hours",
    ),
    pytest.param(
        CHECKS,
        "2027-03-09 18:00",
        13,
        [
            ("2027-03-09 18:00", "incident_opened", "nattpatrullen", None, None),
            ("2027-03-09 18:00", "task_created", "nattpatrullen", "notify_night_patrol", None),
            *VISITS_TUE,
            ("2027-03-10 06:30", "task_created", "larmgruppen", "contact_homecare", None),
        ],
        id="weekday-evening",
    ),
    pytest.param(
        CHECKS,
        "2027-03-09 23:00",
        8,
        [
            ("2027-03-09 23:00", "incident_opened", "nattpatrullen", None, None),
            (
                "2027-03-09 23:00",
                "task_created",
                "nattpatrullen",
                "physical_visit",
                "2027-03-10 01:30",
            ),
            (
                "2027-03-09 23:00",
                "task_created",
                "nattpatrullen",
                "physical_visit",
                "2027-03-10 04:30",
            ),
            ("2027-03-10 06:30", "task_created", "larmgruppen", "contact_homecare", None),
        ],
        id="night-checks-still-ahead",
    ),
    pytest.param(
        "",
        "2027-03-10 07:00",
        10,
        [
            ("2027-03-10 07:00", "incident_opened", "larmgruppen", None, None),
            ("2027-03-10 07:00", "task_created", "larmgruppen", "contact_homecare", None),
            ("2027-03-10 16:00", "task_created", "nattpatrullen", "notify_night_patrol", None),
        ],
        id="overlap-0630-0730-office-wins",
    ),
    pytest.param(
        "",
        "2027-03-13 10:00",
        70,
        [
            ("2027-03-13 10:00", "incident_opened", "nattpatrullen", None, None),
            ("2027-03-13 10:00", "task_created", "nattpatrullen", "notify_night_patrol", None),
            ("2027-03-15 06:30", "task_created", "larmgruppen", "contact_homecare", None),
        ],
        id="saturday-waits-for-monday",
    ),
    pytest.param(
        "",
        "2027-03-26 10:00",
        95,
        [
            ("2027-03-26 10:00", "incident_opened", "nattpatrullen", None, None),
            ("2027-03-26 10:00", "task_created", "nattpatrullen", "notify_night_patrol", None),
            ("2027-03-30 06:30", "task_created", "larmgruppen", "contact_homecare", None),
        ],
        id="good-friday-waits-past-easter-monday",
    ),
    pytest.param(
        "",
        "2027-12-24 10:00",
        70,
        [
            ("2027-12-24 10:00", "incident_opened", "nattpatrullen", None, None),
            ("2027-12-24 10:00", "task_created", "nattpatrullen", "notify_night_patrol", None),
            ("2027-12-27 06:30", "task_created", "larmgruppen", "contact_homecare", None),
        ],
        id="christmas-eve",
    ),
    pytest.param(
        "",
        "2027-06-25 10:00",
        70,
        [
            ("2027-06-25 10:00", "incident_opened", "nattpatrullen", None, None),
            ("2027-06-25 10:00", "task_created", "nattpatrullen", "notify_night_patrol", None),
            ("2027-06-28 06:30", "task_created", "larmgruppen", "contact_homecare", None),
        ],
        id="midsummer-eve",
    ),
    pytest.param(
        "",
        "2027-12-31 10:00",
        70,
        [
            ("2027-12-31 10:00", "incident_opened", "nattpatrullen", None, None),
            ("2027-12-31 10:00", "task_created", "nattpatrullen", "notify_night_patrol", None),
            ("2028-01-03 06:30", "task_created", "larmgruppen", "contact_homecare", None),
        ],
        id="new-years-eve",
    ),
]


@pytest.mark.parametrize(("checks", "start", "hours", "expected"), SINGLE_CASES)
def test_single_outage_routes_by_local_time(
    checks: str, start: str, hours: int, expected: list[tuple[str | None, ...]]
) -> None:
    run = outage(start, hours, checks=checks)
    assert run.table("incident_opened", "task_created") == expected


def test_single_outage_visits_every_night_it_lasts() -> None:
    run = outage("2027-03-13 10:00", 40)
    checks = [row[4] for row in run.table("task_created") if row[3] == "physical_visit"]
    assert checks == [
        "2027-03-13 22:30",
        "2027-03-14 01:30",
        "2027-03-14 04:30",
        "2027-03-14 22:30",
        "2027-03-15 01:30",
        "2027-03-15 04:30",
    ]


def test_single_outage_unacknowledged_task_reminds_then_escalates_capped() -> None:
    run = outage("2027-03-09 10:00", 3, checks="")
    rows = [r for r in run.table() if r[3] == "contact_homecare"]
    assert rows == [
        ("2027-03-09 10:00", "task_created", "larmgruppen", "contact_homecare", None),
        ("2027-03-09 10:15", "reminder", "larmgruppen", "contact_homecare", None),
        ("2027-03-09 10:30", "escalated", "jour", "contact_homecare", None),
        ("2027-03-09 10:45", "reminder", "jour", "contact_homecare", None),
        ("2027-03-09 11:00", "reminder", "jour", "contact_homecare", None),
    ]


def test_single_outage_paused_home_gets_no_tasks() -> None:
    run = outage("2027-03-09 10:00", 14, active="no")
    assert run.decisions == []


def test_single_outage_home_without_relay_down_starts_routine() -> None:
    run = Run(
        registry([f"{gw},g1,{CHECKS},yes,{'no' if gw == 'gw-a' else 'yes'},C,R," for gw in GWS])
    )
    t = local("2027-03-09 10:00")
    for gw in GWS:
        run.report(t, gw)
    run.report(t + timedelta(minutes=5), "gw-a", camera="down")
    opened = run.table("incident_opened")
    assert opened == [("2027-03-09 10:05", "incident_opened", "larmgruppen", None, None)]
    assert run.decisions[0].reason.startswith("no_relay")


def test_single_outage_router_down_counts_for_the_home() -> None:
    run = Run(registry([f"{gw},g1,{CHECKS},yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 10:00")
    for gw in GWS:
        run.report(t, gw)
    run.report(t + timedelta(minutes=5), "gw-a", camera="unreachable", router="failed")
    assert [d.gateways for d in run.decisions if d.event.value == "incident_opened"] == [("gw-a",)]


def test_single_outage_check_near_and_camera_not_up_starts_routine() -> None:
    run = Run(registry([f"{gw},g1,22:30 01:30,yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 21:00")
    for gw in GWS:
        run.report(t, gw)
    run.report(local("2027-03-09 22:00"), "gw-a", camera="restarting")  # the agent still tries
    run.alive(local("2027-03-09 22:00"), local("2027-03-09 22:20"))
    assert run.table("incident_opened", "task_created") == [
        ("2027-03-09 22:15", "incident_opened", "nattpatrullen", None, None),
        ("2027-03-09 22:15", "task_created", "nattpatrullen", "physical_visit", "2027-03-09 22:30"),
        ("2027-03-09 22:15", "task_created", "nattpatrullen", "physical_visit", "2027-03-10 01:30"),
    ]
    assert run.decisions[0].reason.startswith("check_at_risk")


def test_single_outage_camera_back_before_lead_time_opens_nothing() -> None:
    run = Run(registry([f"{gw},g1,22:30,yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 21:00")
    for gw in GWS:
        run.report(t, gw)
    run.report(local("2027-03-09 22:00"), "gw-a", camera="down")
    run.report(local("2027-03-09 22:10"), "gw-a", camera="up")
    run.alive(local("2027-03-09 22:10"), local("2027-03-09 23:00"))
    assert run.decisions == []


def test_single_outage_visit_plan_replaces_checks() -> None:
    rows = [f"{gw},g1,22:30 01:30,yes,yes,C,R,23:15 03:00" for gw in GWS]
    run = Run(registry(rows))
    t = local("2027-03-09 20:00")
    for gw in GWS:
        run.report(t, gw)
    run.report(t, "gw-a", camera="failed")
    run.alive(t, local("2027-03-10 04:00"))
    assert [r[4] for r in run.table("task_created") if r[3] == "physical_visit"] == [
        "2027-03-09 23:15",
        "2027-03-10 03:00",
    ]

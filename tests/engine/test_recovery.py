"""Recovery closes the loop (ROUTINE.md): after the settle time (10 min) with
the camera up, open tasks are cancelled, those told are told it is over, and a
visit whose check is inside the lead time (15 min) stays."""

from __future__ import annotations

from datetime import timedelta

from tests.engine.helpers import Run, local, registry

GWS = ("gw-a", "gw-b", "gw-c")


def outage_then_up(
    fail: str, up: str, until: str, checks: str = "22:30 01:30 04:30", flap: str | None = None
) -> Run:
    run = Run(registry([f"{gw},g1,{checks},yes,yes,C,R," for gw in GWS]))
    t = local(fail)
    for gw in GWS:
        run.report(t - timedelta(hours=1), gw)
    run.report(t, "gw-a", camera="failed")
    run.alive(t, local(up))
    run.event(local(up), "gw-a", "device_up")
    run.report(local(up), "gw-a", camera="up")
    if flap:
        run.alive(local(up), local(flap))
        run.report(local(flap), "gw-a", camera="down")
        run.report(local(flap) + timedelta(minutes=2), "gw-a", camera="up")
    run.alive(local(flap or up), local(until))
    return run


def test_recovery_before_night_cancels_and_reports_no_visits() -> None:
    run = outage_then_up("2027-03-09 10:00", "2027-03-09 18:00", "2027-03-10 06:00")
    assert run.table("cancelled", "incident_closed", "task_created")[2:] == [
        ("2027-03-09 18:10", "cancelled", "jour", "contact_homecare", None),
        ("2027-03-09 18:10", "cancelled", "jour", "notify_night_patrol", None),
        ("2027-03-09 18:10", "task_created", "jour", "status_report", None),
        ("2027-03-09 18:10", "task_created", "larmgruppen", "status_report", None),
        ("2027-03-09 18:10", "task_created", "nattpatrullen", "status_report", None),
        ("2027-03-09 18:10", "incident_closed", None, None, None),
    ]
    assert run.tasks("physical_visit") == []


def test_recovery_after_night_starts_keeps_visit_inside_lead_time() -> None:
    run = outage_then_up("2027-03-09 10:00", "2027-03-09 22:10", "2027-03-10 06:00")
    cancelled = [r[4] for r in run.table("cancelled") if r[3] == "physical_visit"]
    assert cancelled == ["2027-03-10 01:30", "2027-03-10 04:30"]
    closed = run.table("incident_closed")
    assert closed == [("2027-03-09 22:20", "incident_closed", None, None, None)]
    incident = next(iter(run.engine.incidents.values()))
    live = [t.check for t in incident.tasks.values() if t.live and t.action == "physical_visit"]
    assert live == [local("2027-03-09 22:30")]


def test_recovery_flap_inside_settle_time_restarts_the_settle_clock() -> None:
    run = outage_then_up(
        "2027-03-09 10:00", "2027-03-09 18:00", "2027-03-09 20:00", flap="2027-03-09 18:05"
    )
    assert run.table("incident_closed") == [
        ("2027-03-09 18:17", "incident_closed", None, None, None)
    ]


def test_recovery_needs_every_device_up_router_included() -> None:
    run = Run(registry([f"{gw},g1,,yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 10:00")
    for gw in GWS:
        run.report(t, gw)
    run.report(t, "gw-a", camera="failed")
    run.report(t + timedelta(minutes=5), "gw-a", camera="up", router="down")
    run.alive(t + timedelta(minutes=5), t + timedelta(hours=2))
    assert run.table("incident_closed") == []

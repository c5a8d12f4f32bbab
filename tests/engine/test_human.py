"""Human input through a night (ROUTINE.md steps 4-9): acknowledgements stop
escalation, a visit made drafts the journal note, a camera still down after
the visit goes to the alarm group, then the vendor report, then verification."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.engine import (
    Acknowledge,
    CheckWorked,
    TaskDone,
    TaskRef,
    VendorCaseNumber,
    VisitDone,
)
from central.engine.tasks import _move
from central.errors import EngineError, UnknownTask
from central.registry import Registry, read_registry_csv
from tests.engine.helpers import Run, local, registry

GWS = ("gw-a", "gw-b", "gw-c")


def night(checks: str = "22:30 01:30") -> Run:
    run = Run(registry([f"{gw},g1,{checks},yes,yes,CAM-{gw},RTR-{gw}," for gw in GWS]))
    t = local("2027-03-09 21:00")
    for gw in GWS:
        run.report(t, gw)
    run.report(t + timedelta(minutes=40), "gw-a", camera="failed")
    return run


def test_human_acknowledge_stops_reminders() -> None:
    run = night()
    visit = TaskRef(gateway="gw-a", action="physical_visit", check=local("2027-03-09 22:30"))
    run.feed(Acknowledge(local("2027-03-09 21:45"), visit, "nils"))
    run.alive(local("2027-03-09 21:45"), local("2027-03-09 23:00"))
    rows = [r for r in run.table() if r[4] == "2027-03-09 22:30"]
    assert rows == [
        ("2027-03-09 21:40", "task_created", "nattpatrullen", "physical_visit", "2027-03-09 22:30"),
        ("2027-03-09 21:45", "acknowledged", "nattpatrullen", "physical_visit", "2027-03-09 22:30"),
    ]


def test_human_visit_done_drafts_journal_note_without_label() -> None:
    run = night(checks="22:30")
    visit = TaskRef(gateway="gw-a", action="physical_visit")
    run.feed(VisitDone(local("2027-03-09 22:40"), visit, restarted=True, by="nils"))
    notes = run.tasks("journal_note")
    assert [(n.role, n.check) for n in notes] == [("nattpatrullen", local("2027-03-09 22:30"))]
    incident = run.engine.incidents[notes[0].incident]
    draft = next(t.draft for t in incident.tasks.values() if t.action == "journal_note")
    assert draft.startswith("Fysisk tillsyn 2027-03-09 22:30 i stället för kameratillsyn")
    assert "startades om" in draft
    assert "CAM-" not in draft  # the journal is about the client's care, not equipment


def test_human_camera_still_down_after_visit_hands_over_then_vendor_report() -> None:
    run = night()
    at = local("2027-03-09 22:40")
    visit = TaskRef(gateway="gw-a", action="physical_visit", check=local("2027-03-09 22:30"))
    run.feed(VisitDone(at, visit, restarted=True, camera_works=False))
    run.feed(TaskDone(at + timedelta(minutes=5), TaskRef(gateway="gw-a", action="handover")))
    created = [(d.role, d.action) for d in run.tasks() if d.at >= at]
    assert created == [
        ("nattpatrullen", "journal_note"),
        ("larmgruppen", "handover"),
        ("larmgruppen", "vendor_report"),
    ]
    incident = run.engine.incidents[run.tasks("vendor_report")[0].incident]
    report = next(t.draft for t in incident.tasks.values() if t.action == "vendor_report")
    assert "CAM-gw-a" in report and "RTR-gw-a" in report and "support@phoniro.com" in report


def test_human_vendor_report_names_serials_and_macs_never_the_client() -> None:
    header = "gateway,homecare_group,night_checks,label,camera_serial,router_serial,camera_mac"
    rows = [
        f"{gw},g1,22:30,Anna Andersson,CAM-{gw},RTR-{gw},00:1a:2b:3c:4d:0{k}"
        for k, gw in enumerate(GWS)
    ]
    run = Run(Registry(read_registry_csv("\n".join([header, *rows]) + "\n").homes))
    t = local("2027-03-09 21:00")
    for gw in GWS:
        run.report(t, gw)
    run.report(t + timedelta(minutes=40), "gw-a", camera="failed")
    run.feed(
        VisitDone(
            local("2027-03-09 22:40"), TaskRef(gateway="gw-a", action="physical_visit"), True, False
        )
    )
    run.feed(TaskDone(local("2027-03-09 22:45"), TaskRef(gateway="gw-a", action="handover")))
    incident = run.engine.incidents[run.tasks("vendor_report")[0].incident]
    report = next(t.draft for t in incident.tasks.values() if t.action == "vendor_report")
    assert "- gateway gw-a: kamera CAM-gw-a (MAC 00:1a:2b:3c:4d:00), router RTR-gw-a" in report
    assert "Anna" not in report and "Andersson" not in report


def test_human_vendor_case_completes_report_and_verify_after_recovery() -> None:
    run = night()
    at = local("2027-03-09 22:40")
    run.feed(VisitDone(at, TaskRef(gateway="gw-a", action="physical_visit"), True, False))
    run.feed(TaskDone(at, TaskRef(gateway="gw-a", action="handover")))
    incident_id = run.tasks("vendor_report")[0].incident
    run.feed(VendorCaseNumber(at + timedelta(minutes=10), incident_id, "PH-4711"))
    forwarded = [n for n in run.notifications if n.key.endswith(":case:PH-4711")]
    assert [(n.role, n.channels) for n in forwarded] == [("it_funktion", ("email",))]
    up = local("2027-03-10 09:00")
    run.event(up, "gw-a", "device_up")
    run.report(up, "gw-a")
    run.alive(up, up + timedelta(minutes=30))
    assert [d.role for d in run.tasks("verify_restored")] == ["larmgruppen"]
    assert run.engine.incidents[incident_id].case_number == "PH-4711"


def test_human_check_worked_cancels_kept_visit() -> None:
    run = night()
    up = local("2027-03-09 22:05")
    run.event(up, "gw-a", "device_up")
    run.report(up, "gw-a")
    run.alive(up, local("2027-03-09 22:20"))
    run.feed(CheckWorked(local("2027-03-09 22:31"), "gw-a", local("2027-03-09 22:30")))
    cancelled = [(r[0], r[4]) for r in run.table("cancelled") if r[3] == "physical_visit"]
    assert cancelled == [
        ("2027-03-09 22:15", "2027-03-10 01:30"),
        ("2027-03-09 22:31", "2027-03-09 22:30"),
    ]


def test_human_unknown_task_raises_and_changes_nothing() -> None:
    run = night()
    before = run.engine.to_dict()
    with pytest.raises(UnknownTask):
        run.engine.handle(Acknowledge(local("2027-03-09 22:00"), TaskRef(task="nope"), "x"))
    assert run.engine.to_dict() == before


def test_human_no_visit_planned_asks_for_site_restart() -> None:
    run = Run(registry([f"{gw},g1,,yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 10:00")
    for gw in GWS:
        run.report(t, gw)
    run.report(t, "gw-a", camera="failed")
    ref = TaskRef(gateway=None, action="contact_homecare")
    run.feed(TaskDone(t + timedelta(minutes=5), ref, "lisa", outcome="no_visit_planned"))
    assert [(d.role, d.action) for d in run.tasks()][-1] == ("larmgruppen", "site_restart")


def test_human_illegal_task_transition_raises() -> None:
    run = night()
    incident = next(iter(run.engine.incidents.values()))
    task = next(t for t in incident.tasks.values() if t.action == "physical_visit")
    task.status = "done"
    with pytest.raises(EngineError):
        _move(task, "acknowledged")

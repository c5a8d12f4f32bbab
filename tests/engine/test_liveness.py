"""Silence, offline, duplicates and our own blindness (ROUTINE.md "What the
product changes"): a silent gateway becomes an outage after the 10-minute
grace; ``agent_stopping`` with ``expected_back_s`` delays it; more than half
of the fleet silent within 5 minutes, or the broker lost, opens one
infrastructure incident and no visits from silence alone."""

from __future__ import annotations

from datetime import datetime, timedelta

from central.engine import BrokerLost, BrokerRestored, CheckFailed, GatewayMessage
from tests.engine.helpers import Run, availability, event, local, registry, snapshot

GWS = ("gw-a", "gw-b", "gw-c", "gw-d", "gw-e")


def fleet(checks: str = "22:30 01:30 04:30") -> Run:
    return Run(registry([f"{gw},g1,{checks},yes,yes,C,R," for gw in GWS]))


def everyone_reports(run: Run, when: datetime, heartbeat_s: int = 3600) -> None:
    for gw in GWS:
        run.report(when, gw, heartbeat_s=heartbeat_s)


def test_liveness_silent_gateway_opens_outage_after_grace() -> None:
    run = fleet()
    t = local("2027-03-09 10:00")
    everyone_reports(run, t)
    run.report(t + timedelta(minutes=1), "gw-a", heartbeat_s=60)
    run.alive(t + timedelta(minutes=2), t + timedelta(minutes=40), skip=("gw-a",))
    opened = [
        (d.at, d.gateways, d.reason.split(";")[0])
        for d in run.decisions
        if d.event.value == "incident_opened"
    ]
    # silent after 2 missed heartbeats (10:03), an outage 10 minutes later
    assert opened == [(t + timedelta(minutes=13), ("gw-a",), "silent")]


def test_liveness_agent_stopping_expected_back_delays_outage() -> None:
    run = fleet()
    t = local("2027-03-09 10:00")
    everyone_reports(run, t)
    stop = event(
        "gw-a", "agent_stopping", None, detail={"reason": "upgrade", "expected_back_s": 1800}
    )
    run.at(t + timedelta(minutes=1), stop, availability("gw-a", "offline"))
    run.alive(t + timedelta(minutes=2), t + timedelta(hours=1), skip=("gw-a",))
    opened = [
        (d.at, d.reason.split(";")[0]) for d in run.decisions if d.event.value == "incident_opened"
    ]
    assert opened == [(t + timedelta(minutes=1 + 30 + 10), "offline")]


def test_liveness_gateway_back_within_grace_opens_nothing() -> None:
    run = fleet()
    t = local("2027-03-09 10:00")
    everyone_reports(run, t)
    run.at(t + timedelta(minutes=1), availability("gw-a", "offline"))
    run.at(t + timedelta(minutes=8), availability("gw-a", "online"))
    run.alive(t + timedelta(minutes=8), t + timedelta(hours=1))
    assert run.decisions == []


def test_liveness_silence_missing_a_check_still_gets_its_visit() -> None:
    run = fleet(checks="22:30")
    t = local("2027-03-09 22:10")
    everyone_reports(run, t)
    run.report(t + timedelta(minutes=5), "gw-a", heartbeat_s=30)
    run.alive(t + timedelta(minutes=6), t + timedelta(hours=1), skip=("gw-a",))
    visits = [(d.at, d.check) for d in run.tasks("physical_visit")]
    # silent from 22:16, the check inside the lead time: the routine starts at 22:21
    assert visits == [(local("2027-03-09 22:21"), local("2027-03-09 22:30"))]


def test_liveness_duplicate_event_changes_nothing() -> None:
    run = fleet()
    t = local("2027-03-09 10:00")
    everyone_reports(run, t)
    message = event("gw-a", "restart_exhausted", id="01DUPLICATE")
    first = run.engine.handle(GatewayMessage(t + timedelta(minutes=1), message))
    again = run.engine.handle(GatewayMessage(t + timedelta(minutes=2), message))
    assert first and again == []


def test_liveness_fleet_silent_opens_one_infrastructure_incident_no_visits() -> None:
    run = fleet()
    t = local("2027-03-09 21:00")
    everyone_reports(run, t, heartbeat_s=60)
    run.alive(t + timedelta(minutes=1), t + timedelta(hours=3), skip=GWS[:3])
    kinds = {(d.kind, d.event.value, d.role, d.action) for d in run.decisions}
    assert kinds == {
        ("infrastructure", "incident_opened", "it_funktion", None),
        ("infrastructure", "task_created", "it_funktion", "it_ownership"),
        ("infrastructure", "task_created", "jour", "status_report"),
        ("infrastructure", "task_created", "digital_tillsyn", "confirm_checks"),
        ("infrastructure", "reminder", "it_funktion", "it_ownership"),
        ("infrastructure", "reminder", "digital_tillsyn", "confirm_checks"),
        ("infrastructure", "escalated", "jour", "it_ownership"),
        ("infrastructure", "escalated", "jour", "confirm_checks"),
        ("infrastructure", "reminder", "jour", "it_ownership"),
        ("infrastructure", "reminder", "jour", "confirm_checks"),
    }
    assert len([d for d in run.decisions if d.event.value == "incident_opened"]) == 1


def test_liveness_sight_back_closes_infrastructure_and_restarts_grace() -> None:
    run = fleet()
    t = local("2027-03-09 10:00")
    everyone_reports(run, t, heartbeat_s=60)
    run.alive(t + timedelta(minutes=1), t + timedelta(minutes=30), skip=GWS[:3])
    back = t + timedelta(minutes=30)
    run.report(back, "gw-b", heartbeat_s=60)
    run.report(back, "gw-c", heartbeat_s=60)
    run.alive(back + timedelta(minutes=1), back + timedelta(minutes=40), skip=("gw-a",))
    rows = [
        (d.at, d.kind, d.event.value, d.gateways)
        for d in run.decisions
        if d.event.value in ("incident_opened", "incident_closed")
    ]
    assert rows == [
        (t + timedelta(minutes=2), "infrastructure", "incident_opened", ()),
        (back, "infrastructure", "incident_closed", ()),
        (back + timedelta(minutes=10), "single", "incident_opened", ("gw-a",)),
    ]


def test_liveness_broker_lost_blind_until_restored_and_fleet_heard() -> None:
    run = fleet()
    t = local("2027-03-09 23:00")
    everyone_reports(run, t, heartbeat_s=60)
    run.feed(BrokerLost(t + timedelta(minutes=1)))
    run.until(t + timedelta(hours=2))
    restored = t + timedelta(hours=2)
    run.feed(BrokerRestored(restored))
    for gw in GWS:
        run.report(restored + timedelta(seconds=5), gw, heartbeat_s=60)
    run.alive(restored + timedelta(minutes=1), restored + timedelta(minutes=30))
    opened = [
        (d.kind, d.reason.split(";")[0])
        for d in run.decisions
        if d.event.value == "incident_opened"
    ]
    assert opened == [("infrastructure", "broker_lost")]
    assert run.tasks("physical_visit") == []
    closed = [d.at for d in run.decisions if d.event.value == "incident_closed"]
    assert closed == [restored + timedelta(seconds=5)]


def test_liveness_blind_human_report_still_gives_visit() -> None:
    run = fleet()
    t = local("2027-03-09 23:00")
    everyone_reports(run, t, heartbeat_s=60)
    run.feed(BrokerLost(t + timedelta(minutes=1)))
    run.feed(CheckFailed(local("2027-03-10 01:31"), "gw-c", local("2027-03-10 01:30")))
    visits = sorted((d.gateways, d.check) for d in run.tasks("physical_visit"))
    assert visits == [
        (("gw-c",), local("2027-03-10 01:30")),
        (("gw-c",), local("2027-03-10 04:30")),
    ]


def test_liveness_snapshot_older_than_seen_is_ignored() -> None:
    run = fleet()
    t = local("2027-03-09 10:00")
    everyone_reports(run, t)
    run.at(t + timedelta(minutes=1), snapshot("gw-a", camera="up", seq=100, heartbeat_s=3600))
    run.at(t + timedelta(minutes=2), snapshot("gw-a", camera="failed", seq=99))
    assert run.decisions == []


def test_liveness_late_outbox_event_older_than_snapshot_changes_no_health() -> None:
    run = fleet(checks="22:30")
    t = local("2027-03-09 22:00")
    everyone_reports(run, t)
    run.at(t + timedelta(minutes=1), snapshot("gw-a", camera="up", seq=100, heartbeat_s=3600))
    run.at(t + timedelta(minutes=2), event("gw-a", "restart_exhausted", seq=40))
    run.until(t + timedelta(minutes=40))
    assert run.decisions == []
    assert run.engine.homes["gw-a"].health["camera"] == "up"


def test_liveness_sight_back_tells_everyone_told_of_the_blindness() -> None:
    run = fleet()
    t = local("2027-03-09 10:00")
    everyone_reports(run, t, heartbeat_s=60)
    run.alive(t + timedelta(minutes=1), t + timedelta(minutes=30), skip=GWS[:3])
    back = t + timedelta(minutes=30)
    for gw in GWS[:3]:
        run.report(back, gw, heartbeat_s=60)
    told = {d.role for d in run.tasks() if d.at < back}
    status = {d.role for d in run.tasks("status_report") if d.at == back}
    # jour was told at the start (a notice): it is told that sight is back, too
    assert told == {"it_funktion", "jour", "digital_tillsyn"}
    assert status == told


def test_liveness_late_heartbeats_within_tolerance_are_not_silence() -> None:
    """The agent sends a heartbeat at its first tick after ``heartbeat_s``; a probe
    round (under ``probe_interval_s``, 10 s) and the link add delay. Heartbeats up
    to 2 x ``heartbeat_s`` apart are not silence: no home ever turns silent, so a
    slow fleet is never taken for our own blindness."""
    run = fleet()
    t = local("2027-03-09 10:00")
    gaps = [30, 41, 52, 33, 59, 45, 30, 58]
    for k in range(40):
        t += timedelta(seconds=gaps[k % len(gaps)])
        run.at(t, *[snapshot(gw, seq=k, heartbeat_s=30) for gw in GWS])
        assert not run.engine.to_dict()["silent"]
    assert run.decisions == []


def test_liveness_silent_after_two_heartbeats_without_a_message() -> None:
    run = fleet()
    t = local("2027-03-09 10:00")
    run.at(t, *[snapshot(gw, seq=1, heartbeat_s=30) for gw in GWS])
    run.until(t + timedelta(seconds=59))
    assert run.engine.homes["gw-a"].silent_since is None
    run.until(t + timedelta(seconds=60))
    assert run.engine.homes["gw-a"].silent_since == t + timedelta(seconds=60)


def test_liveness_silent_inside_lead_time_gets_visit_before_the_check() -> None:
    """Silent, the camera is not confirmed up: a check inside the lead time starts
    the routine once the silence outlasts ``blind.within`` (by then a fleet-wide
    silence would be our own blindness), not only after the 10-minute grace,
    which would give the night patrol the 22:30 visit after 22:30."""
    run = fleet(checks="22:30")
    t = local("2027-03-09 22:00")
    everyone_reports(run, t)
    run.report(local("2027-03-09 22:17"), "gw-a", heartbeat_s=30)  # silent from 22:18
    run.alive(local("2027-03-09 22:18"), local("2027-03-09 23:00"), skip=("gw-a",))
    assert run.table("incident_opened", "task_created") == [
        ("2027-03-09 22:23", "incident_opened", "nattpatrullen", None, None),
        ("2027-03-09 22:23", "task_created", "nattpatrullen", "physical_visit", "2027-03-09 22:30"),
    ]


def test_liveness_fleet_silent_inside_lead_time_gives_no_visits() -> None:
    run = fleet(checks="22:30")
    t = local("2027-03-09 22:00")
    everyone_reports(run, t)
    run.at(local("2027-03-09 22:19"), *[snapshot(gw, seq=100, heartbeat_s=30) for gw in GWS])
    run.alive(local("2027-03-09 22:20"), local("2027-03-09 23:30"), skip=GWS[:3])
    assert {d.kind for d in run.decisions} == {"infrastructure"}
    assert run.tasks("physical_visit") == []


def test_liveness_gateway_back_before_lead_outage_opens_nothing() -> None:
    run = fleet(checks="22:30")
    t = local("2027-03-09 22:00")
    everyone_reports(run, t)
    run.report(local("2027-03-09 22:17"), "gw-a", heartbeat_s=30)  # silent from 22:18
    run.report(local("2027-03-09 22:22"), "gw-a")  # back before 22:23
    run.alive(local("2027-03-09 22:22"), local("2027-03-09 23:00"))
    assert run.decisions == []


def test_liveness_status_report_says_ongoing_at_the_start_and_over_at_the_end() -> None:
    """jour's notice when we go blind is a status report too: it must not say 'over'."""
    run = fleet()
    t = local("2027-03-09 10:00")
    everyone_reports(run, t, heartbeat_s=60)
    run.alive(t + timedelta(minutes=1), t + timedelta(minutes=30), skip=GWS[:3])
    back = t + timedelta(minutes=30)
    for gw in GWS[:3]:
        run.report(back, gw, heartbeat_s=60)
    reports = [n for n in run.notifications if n.action == "status_report" and n.role == "jour"]
    assert len(reports) == 2
    opened, closed = reports
    assert "Driftstoppet pågår sedan 2027-03-09 10:0" in opened.body
    assert "över" not in opened.body
    assert "Driftstoppet är över sedan 2027-03-09 10:30." in closed.body

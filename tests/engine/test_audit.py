"""Audit of issue 4 at exact Stockholm times (ROUTINE.md "Defaults of the
shipped policy"): each test pins one default of the routine to the minute."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from central.engine import Acknowledge, Engine, TaskRef, VendorCaseNumber, VisitDone
from central.policy import load_policy
from central.registry import Registry, read_registry_csv
from central.replay import replay
from tests.engine.helpers import DEFAULT_POLICY, Run, local, registry, show, snapshot, utc
from tests.engine.test_routine_single import outage

GWS = ("gw-a", "gw-b", "gw-c")


def single(start: str, hours: int, checks: str = "") -> Run:
    return outage(start, hours, checks=checks)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        pytest.param(
            "2027-03-09 15:50",
            1,
            [
                ("2027-03-09 15:50", "larmgruppen", "contact_homecare"),
                ("2027-03-09 16:00", "nattpatrullen", "notify_night_patrol"),
            ],
            id="tuesday-1550",
        ),
        pytest.param(
            "2027-03-09 17:00",
            14,
            [
                ("2027-03-09 17:00", "nattpatrullen", "notify_night_patrol"),
                ("2027-03-10 06:30", "larmgruppen", "contact_homecare"),
            ],
            id="tuesday-1700",
        ),
        pytest.param(
            "2027-03-12 17:00",
            70,
            [
                ("2027-03-12 17:00", "nattpatrullen", "notify_night_patrol"),
                ("2027-03-15 06:30", "larmgruppen", "contact_homecare"),
            ],
            id="friday-1700-to-monday-0630",
        ),
        pytest.param(
            "2027-03-25 17:00",
            120,
            [
                ("2027-03-25 17:00", "nattpatrullen", "notify_night_patrol"),
                ("2027-03-30 06:30", "larmgruppen", "contact_homecare"),
            ],
            id="maundy-thursday-1700-to-tuesday-after-easter-monday",
        ),
        pytest.param(
            "2027-03-13 10:00",
            48,
            [
                ("2027-03-13 10:00", "nattpatrullen", "notify_night_patrol"),
                ("2027-03-15 06:30", "larmgruppen", "contact_homecare"),
            ],
            id="saturday-1000",
        ),
    ],
)
def test_audit_single_outage_tasks_at_exact_times(
    start: str, hours: int, expected: list[tuple[str, str, str]]
) -> None:
    run = single(start, hours)
    assert [(r[0], r[2], r[3]) for r in run.table("task_created")] == expected


def test_audit_single_outage_1550_recovered_before_1600_no_night_patrol_notice() -> None:
    run = Run(registry([f"{gw},g1,,yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 15:40")
    for gw in GWS:
        run.report(t - timedelta(hours=1), gw)
    run.report(t, "gw-a", camera="failed")
    run.event(t + timedelta(minutes=5), "gw-a", "device_up")
    run.report(t + timedelta(minutes=5), "gw-a")
    run.alive(t + timedelta(minutes=5), t + timedelta(hours=2))
    assert run.tasks("notify_night_patrol") == []
    assert run.table("incident_closed") == [
        ("2027-03-09 15:55", "incident_closed", None, None, None)
    ]


P = "driftvakt/v1/botkyrka"


def _state(gw: str, camera: str, seq: int) -> dict[str, object]:
    since = "2020-01-01T00:00:00Z"
    return {
        "v": 1,
        "ts": since,
        "boot": "b",
        "seq": seq,
        "agent": "1",
        "uptime_s": 1,
        "heartbeat_s": 3600,
        "devices": {
            "router": {"health": "up", "since": since},
            "camera": {"health": camera, "since": since},
        },
    }


def replay_night(
    rows: list[str], start_utc: str, failing: dict[str, str], hours: int = 10
) -> list[dict[str, object]]:
    """Every home reports every 50 min from ``start_utc``; each home in ``failing``
    reports its camera failed from that UTC time on. Returns the decisions."""
    csv = "gateway,homecare_group,night_checks,camera_serial\n" + "\n".join(rows) + "\n"
    registry_ = Registry(read_registry_csv(csv).homes)
    gws = [r.split(",")[0] for r in rows]
    t, lines, seq = utc(start_utc), [], 0
    while t < utc(start_utc) + timedelta(hours=hours):
        stamps = sorted(
            {t, *(utc(f) for f in failing.values() if t <= utc(f) < t + timedelta(minutes=50))}
        )
        for at in stamps:
            for gw in gws:
                fail = gw in failing and utc(failing[gw]) <= at
                if at != t and not (gw in failing and utc(failing[gw]) == at):
                    continue
                seq += 1
                topic = f"{P}/{gw}/state"
                line = {
                    "at": at.isoformat(),
                    "topic": topic,
                    "payload": _state(gw, "failed" if fail else "up", seq),
                }
                lines.append(json.dumps(line))
        t += timedelta(minutes=50)
    out, err = io.StringIO(), io.StringIO()
    replay(lines, Engine(DEFAULT_POLICY, registry_), out, err, until=t)
    assert err.getvalue() == ""
    return [json.loads(x) for x in out.getvalue().splitlines()]


def _visits(decisions: list[dict[str, object]]) -> list[object]:
    return [
        d["check"]
        for d in decisions
        if d["event"] == "task_created" and d["action"] == "physical_visit"
    ]


def test_audit_replay_night_visit_per_remaining_check_rfc3339_utc() -> None:
    rows = ["gw-a,g1,22:30 01:30 04:30,CAM-A", "gw-b,g1,22:30,CAM-B", "gw-c,g1,22:30,CAM-C"]
    out = replay_night(rows, "2027-03-09T20:00:00Z", {"gw-a": "2027-03-09T22:00:00Z"})
    # 23:00 local: the 22:30 check is past, 01:30 and 04:30 remain
    created = [
        (d["at"], d["check"])
        for d in out
        if d["action"] == "physical_visit" and d["event"] == "task_created"
    ]
    assert created == [
        ("2027-03-09T22:00:00Z", "2027-03-10T00:30:00Z"),
        ("2027-03-09T22:00:00Z", "2027-03-10T03:30:00Z"),
    ]
    visits = [d for d in out if d["action"] == "physical_visit" and d["event"] == "task_created"]
    assert {d["role"] for d in visits} == {"nattpatrullen"}


@pytest.mark.parametrize(
    ("start", "fail", "expected"),
    [
        pytest.param(
            "2027-03-27T19:00:00Z", "2027-03-27T22:00:00Z", ["2027-03-28T01:30:00Z"], id="spring"
        ),
        pytest.param(
            "2027-10-30T18:00:00Z", "2027-10-30T21:00:00Z", ["2027-10-31T00:30:00Z"], id="autumn"
        ),
    ],
)
def test_audit_replay_dst_check_0230(start: str, fail: str, expected: list[str]) -> None:
    rows = ["gw-a,g1,02:30,CAM-A", "gw-b,g1,02:30,CAM-B", "gw-c,g1,02:30,CAM-C"]
    out = replay_night(rows, start, {"gw-a": fail}, hours=12)
    assert _visits(out) == expected


def test_audit_replay_gateways_is_full_current_membership() -> None:
    rows = [f"gw-{k},g1,,CAM-{k}" for k in range(5)]
    failing = {f"gw-{k}": f"2027-03-09T09:0{k}:00Z" for k in range(4)}
    out = replay_night(rows, "2027-03-09T08:00:00Z", failing, hours=2)
    ext = [d for d in out if d["kind"] == "extensive"]
    assert ext[0]["event"] == "incident_opened"
    assert ext[0]["gateways"] == ["gw-0", "gw-1", "gw-2"]
    update = next(i for i, d in enumerate(ext) if d["event"] == "incident_updated")
    assert all(d["gateways"] == ["gw-0", "gw-1", "gw-2"] for d in ext[:update])
    assert all(d["gateways"] == ["gw-0", "gw-1", "gw-2", "gw-3"] for d in ext[update:])
    assert [d["event"] for d in ext if str(d["event"]).startswith("incident")] == [
        "incident_opened",
        "incident_updated",
    ]


def test_audit_journal_note_has_time_reason_case_number_and_restart_in_swedish() -> None:
    run = single("2027-03-09 21:40", 1, checks="22:30 01:30")
    incident_id = run.tasks("physical_visit")[0].incident
    run.feed(VendorCaseNumber(local("2027-03-09 22:20"), incident_id, "PH-4711"))
    visit = TaskRef(gateway="gw-a", action="physical_visit", check=local("2027-03-09 22:30"))
    run.feed(VisitDone(local("2027-03-09 22:40"), visit, restarted=True, camera_works=None))
    incident = run.engine.incidents[incident_id]
    note = next(t.draft for t in incident.tasks.values() if t.action == "journal_note")
    assert note == (
        "Fysisk tillsyn 2027-03-09 22:30 i stället för kameratillsyn, eftersom "
        "trygghetskameran inte fungerade (driftstopp 2027-03-09 21:40, orsak: automatisk "
        "omstart misslyckades). Router och kamera startades om vid besöket. "
        "Ärendenummer hos leverantören: PH-4711."
    )
    run.feed(
        VisitDone(
            local("2027-03-09 23:00"), TaskRef(gateway="gw-a", action="physical_visit"), False
        )
    )
    later = [t.draft for t in incident.tasks.values() if t.action == "journal_note"][1]
    assert "Ingen omstart gjordes." in later and "01:30" in later


def _opened(run: Run) -> list[tuple[str | None, str]]:
    return [
        (show(d.at), d.reason.split(";")[0])
        for d in run.decisions
        if d.event.value == "incident_opened"
    ]


def test_audit_trigger_restart_exhausted_event_opens_the_routine() -> None:
    run = Run(registry([f"{gw},g1,,yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 10:00")
    for gw in GWS:
        run.report(t, gw)
    run.event(t + timedelta(minutes=3), "gw-a", "restart_exhausted")
    assert _opened(run) == [("2027-03-09 10:03", "restart_exhausted")]


def test_audit_trigger_device_down_without_working_relay_per_snapshot() -> None:
    """The agent reports ``auto_restart: false`` (its relay is not working): a
    device down there starts the routine at once, though the registry says relay."""
    run = Run(registry([f"{gw},g1,,yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 10:00")
    for gw in GWS:
        run.report(t, gw)
    run.at(t + timedelta(minutes=1), snapshot("gw-a", seq=50, heartbeat_s=3600, relay=False))
    assert run.decisions == []
    run.at(
        t + timedelta(minutes=2), snapshot("gw-a", "down", seq=51, heartbeat_s=3600, relay=False)
    )
    assert _opened(run) == [("2027-03-09 10:02", "no_relay")]


def _saturday_lines(last: str) -> list[str]:
    """gw-a fails Saturday 10:00; heartbeats every 50 min, the last line at ``last`` (UTC)."""
    times = [utc("2027-03-13 08:00") + timedelta(minutes=50 * k) for k in range(26)]
    lines, seq = [], 0
    for t in [*(x for x in times if x < utc(last)), utc(last)]:
        for gw in ("gw-a", "gw-b", "gw-c"):
            seq += 1
            camera = "failed" if gw == "gw-a" and t >= utc("2027-03-13 09:00") else "up"
            body = {"at": t.isoformat(), "topic": f"{P}/{gw}/state"}
            lines.append(json.dumps({**body, "payload": _state(gw, camera, seq)}))
    return lines


@pytest.mark.parametrize(
    ("last", "fires"),
    [("2027-03-14 05:30", True), ("2027-03-14 05:29", False)],
    ids=["monday-0630-exactly-24h-after", "one-minute-short"],
)
def test_audit_replay_default_until_is_24h_after_last_line(last: str, fires: bool) -> None:
    csv = "gateway,homecare_group,night_checks\ngw-a,g1,\ngw-b,g1,\ngw-c,g1,\n"
    out, err = io.StringIO(), io.StringIO()
    engine = Engine(DEFAULT_POLICY, Registry(read_registry_csv(csv).homes))
    replay(_saturday_lines(last), engine, out, err)
    decisions = [json.loads(x) for x in out.getvalue().splitlines()]
    contact = [d["at"] for d in decisions if d["action"] == "contact_homecare"]
    assert contact == (["2027-03-15T05:30:00Z"] if fires else [])


def test_audit_another_municipality_policy_file_drives_the_engine() -> None:
    """A different policy file, no code change: its roles, windows and routes decide."""
    policy = load_policy(Path(__file__).parents[1] / "policy" / "data" / "good-minimal.toml")
    run = Run(registry([f"{gw},g1,23:00,yes,yes,C,R," for gw in GWS]), policy=policy)
    t = local("2027-03-09 12:00")
    for gw in GWS:
        run.report(t - timedelta(hours=1), gw)
    run.report(t, "gw-a", camera="failed")
    run.alive(t, local("2027-03-10 00:00"))
    assert run.table("incident_opened", "task_created") == [
        ("2027-03-09 12:00", "incident_opened", "jour", None, None),
        ("2027-03-09 12:00", "task_created", "jour", "vendor_report", None),
        ("2027-03-09 22:00", "task_created", "jour", "physical_visit", "2027-03-09 23:00"),
    ]


@pytest.mark.parametrize(
    ("start_utc", "end_utc"),
    [
        pytest.param("2027-03-28 01:00", "2027-03-28 05:30", id="spring-0300-cest"),
        pytest.param("2027-10-31 00:40", "2027-10-31 06:30", id="autumn-first-0240"),
        pytest.param("2027-10-31 01:40", "2027-10-31 06:30", id="autumn-second-0240"),
    ],
)
def test_audit_extensive_on_dst_nights_hands_over_at_0730_local(
    start_utc: str, end_utc: str
) -> None:
    gws = [f"gw-{k}" for k in range(5)]
    run = Run(registry([f"{g},g1,,yes,yes,C,R," for g in gws]))
    t = utc(start_utc)
    for g in gws:
        run.report(t - timedelta(hours=1), g)
    for k in range(3):
        run.report(t + timedelta(minutes=k), gws[k], camera="failed")
    report = run.tasks("vendor_report")[0].task
    run.feed(Acknowledge(t + timedelta(minutes=5), TaskRef(task=report), "nils"))
    run.alive(t, utc(end_utc) + timedelta(minutes=5))
    rows = [
        (d.at, d.event.value, d.role, d.action)
        for d in run.decisions
        if d.kind == "extensive" and d.action == "vendor_report"
        if d.event.value in ("task_created", "escalated") and not d.reason.startswith("no ack")
    ]
    third = t + timedelta(minutes=2)
    assert rows == [
        (third, "task_created", "nattpatrullen", "vendor_report"),
        (utc(end_utc), "escalated", "jour", "vendor_report"),  # Sunday: no office hours
    ]


def test_audit_recovery_by_device_up_event_alone_after_settle() -> None:
    run = Run(registry([f"{gw},g1,,yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 10:00")
    for gw in GWS:
        run.report(t, gw)
    run.event(t + timedelta(minutes=1), "gw-a", "restart_exhausted")
    run.event(t + timedelta(minutes=30), "gw-a", "device_up")
    run.until(t + timedelta(minutes=39, seconds=59))
    assert run.table("incident_closed") == []
    run.until(t + timedelta(minutes=40))
    assert run.table("incident_closed") == [
        ("2027-03-09 10:40", "incident_closed", None, None, None)
    ]

"""Notifications: the role, its channels, Swedish text, an idempotency key per
decision, and never the client's label (personal data)."""

from __future__ import annotations

from datetime import timedelta

from central.engine import CheckFailed, Decision, GatewayMessage, Tick
from central.registry import Registry, read_registry_csv
from tests.engine.helpers import Run, local, snapshot

CSV = """gateway,homecare_group,night_checks,label,camera_serial,router_serial
gw-a,Tumba norr,22:30,Anna Andersson,CAM-A,RTR-A
gw-b,Tumba norr,22:30,Bo Berg,CAM-B,RTR-B
gw-c,Alby,22:30,Cecilia Ek,CAM-C,RTR-C
gw-d,Alby,22:30,David Fors,CAM-D,RTR-D
"""


def fleet() -> Run:
    return Run(Registry(read_registry_csv(CSV).homes))


def test_notifications_visit_in_swedish_on_role_channels() -> None:
    run = fleet()
    t = local("2027-03-09 21:00")
    for gw in ("gw-a", "gw-b", "gw-c", "gw-d"):
        run.report(t, gw)
    run.report(t + timedelta(minutes=40), "gw-a", camera="failed")
    visit = next(n for n in run.notifications if n.action == "physical_visit")
    assert (visit.role, visit.channels) == ("nattpatrullen", ("sms", "webhook"))
    assert visit.subject == "Ny uppgift: Fysiskt tillsynsbesök (driftstopp, 1 hem)"
    assert "Gör tillsynen fysiskt" in visit.body and "Tillsyn kl 2027-03-09 22:30" in visit.body
    assert "hemtjänstgrupp Tumba norr" in visit.body
    keys = [n.key for n in run.notifications]
    assert len(keys) == len(set(keys))


def test_notifications_never_carry_labels() -> None:
    run = fleet()
    t = local("2027-03-09 21:00")
    for gw in ("gw-a", "gw-b", "gw-c", "gw-d"):
        run.report(t, gw)
    run.feed(CheckFailed(t + timedelta(minutes=5), None))  # every camera: extensive
    run.until(t + timedelta(hours=3))
    text = " ".join(n.subject + n.body for n in run.notifications)
    drafts = " ".join(t.draft for i in run.engine.incidents.values() for t in i.tasks.values())
    assert "CAM-A" in drafts  # the vendor report names equipment ...
    for label in ("Anna", "Berg", "Cecilia", "David"):  # ... never the client
        assert label not in text and label not in drafts


def test_notifications_all_cameras_failed_is_one_extensive_incident() -> None:
    run = fleet()
    t = local("2027-03-09 21:00")
    for gw in ("gw-a", "gw-b", "gw-c", "gw-d"):
        run.report(t, gw)
    run.feed(CheckFailed(t + timedelta(minutes=35), None))
    opened = [(d.kind, d.gateways) for d in run.decisions if d.event.value == "incident_opened"]
    assert opened == [("extensive", ("gw-a", "gw-b", "gw-c", "gw-d"))]
    assert len(run.tasks("physical_visit")) == 4
    assert {(d.role, d.action) for d in run.tasks() if d.action != "physical_visit"} == {
        ("nattpatrullen", "vendor_report"),
        ("it_funktion", "it_ownership"),
    }


def test_notifications_tick_drives_silence_in_the_live_service() -> None:
    engine = fleet().engine  # driven as the live service does: messages, then ticks
    t = local("2027-03-09 10:00")
    for minute in range(20):
        for gw in ("gw-a", "gw-b", "gw-c", "gw-d") if minute == 0 else ("gw-b", "gw-c", "gw-d"):
            at = t + timedelta(minutes=minute)
            assert engine.handle(GatewayMessage(at, snapshot(gw, seq=minute, heartbeat_s=60))) == []
    effects = engine.handle(Tick(t + timedelta(minutes=20)))
    opened = [e for e in effects if isinstance(e, Decision) and e.event.value == "incident_opened"]
    assert [(e.at, e.gateways) for e in opened] == [(t + timedelta(minutes=12), ("gw-a",))]

"""The engine's state is plain data: stop anywhere, serialise, restore, and
the decisions continue exactly; a running incident keeps its policy."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

from central.engine import (
    Decision,
    Engine,
    IncidentChanged,
    TimerCancelled,
    TimerFired,
    TimerScheduled,
)
from central.policy import default_policy_text, parse_policy
from central.registry import Registry, read_registry_csv
from central.replay import read_line, replay
from tests.bench.make_recording import make_recording, registry_csv
from tests.engine.helpers import DEFAULT_POLICY, Run, local, registry

GWS = ("gw-a", "gw-b", "gw-c")


def _registry(homes: int) -> Registry:
    return Registry(read_registry_csv(registry_csv(homes)).homes)


def test_state_restore_mid_replay_gives_identical_decisions() -> None:
    lines = make_recording(60, 3000, seed=3, heartbeat_s=600)
    whole, err = io.StringIO(), io.StringIO()
    replay(lines, Engine(DEFAULT_POLICY, _registry(60)), whole, err)

    first, second = io.StringIO(), io.StringIO()
    engine = Engine(DEFAULT_POLICY, _registry(60))
    half = len(lines) // 2
    replay(lines[:half], engine, first, err, until=_at(lines[half]) - timedelta(milliseconds=1))
    data = json.loads(json.dumps(engine.to_dict()))
    restored = Engine.from_dict(data, DEFAULT_POLICY, _registry(60))
    replay(lines[half:], restored, second, err)
    assert err.getvalue() == ""
    assert whole.getvalue().count("\n") > 50
    assert first.getvalue() + second.getvalue() == whole.getvalue()


def test_state_running_incident_keeps_its_policy_snapshot() -> None:
    run = Run(registry([f"{gw},g1,,yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 10:00")
    for gw in GWS:
        run.report(t, gw)
    run.report(t, "gw-a", camera="failed")
    stricter = parse_policy(
        default_policy_text().replace('ack_deadline = "15m"', 'ack_deadline = "5m"')
    )
    run.engine.set_policy(stricter)
    run.report(t + timedelta(minutes=1), "gw-b", camera="failed")
    run.until(t + timedelta(minutes=20))
    first: dict[tuple[str, ...], timedelta] = {}
    for d in run.decisions:
        if d.event.value == "reminder":
            first.setdefault(d.gateways, d.at - t)
    assert first == {("gw-a",): timedelta(minutes=15), ("gw-b",): timedelta(minutes=6)}
    hashes = {i.policy for i in run.engine.incidents.values()}
    assert hashes == {DEFAULT_POLICY.hash, stricter.hash}


def test_state_restored_engine_rebuilds_old_policy_from_snapshot() -> None:
    run = Run(registry([f"{gw},g1,,yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 10:00")
    for gw in GWS:
        run.report(t, gw)
    run.report(t, "gw-a", camera="failed")
    data = json.loads(json.dumps(run.engine.to_dict()))
    stricter = parse_policy(
        default_policy_text().replace('ack_deadline = "15m"', 'ack_deadline = "5m"')
    )
    restored = Engine.from_dict(data, stricter, run.registry)
    effects = restored.run_until(t + timedelta(minutes=16))
    assert [
        e.at - t for e in effects if isinstance(e, Decision) and e.event.value == "reminder"
    ] == [timedelta(minutes=15)]


def test_state_effects_give_the_service_its_rows() -> None:
    run = Run(registry([f"{gw},g1,,yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 10:00")
    for gw in GWS:
        run.report(t, gw)
    run.report(t, "gw-a", camera="failed")
    scheduled = [e for e in run.effects if isinstance(e, TimerScheduled)]
    changed = [e for e in run.effects if isinstance(e, IncidentChanged)]
    assert {e.purpose for e in scheduled} == {"ack", "step"}
    assert changed and changed[-1].record["tasks"]
    ack = next(e for e in scheduled if e.purpose == "ack")
    effects = run.engine.handle(TimerFired(ack.due, ack.token))
    assert [e.event.value for e in effects if isinstance(e, Decision)] == ["reminder"]
    assert run.engine.handle(TimerFired(ack.due, ack.token)) == []  # stale token: nothing
    assert not [e for e in effects if isinstance(e, TimerCancelled)]


def _at(line: str) -> datetime:
    return read_line(line).at


def test_state_forget_closed_drops_only_finished_incidents() -> None:
    run = Run(registry([f"{gw},g1,22:30,yes,yes,C,R," for gw in GWS]))
    t = local("2027-03-09 10:00")
    for gw in GWS:
        run.report(t, gw)
    steps = [
        (t, "gw-a", "failed"),
        (t + timedelta(hours=1), "gw-a", "up"),
        (local("2027-03-09 22:00"), "gw-b", "failed"),
        (local("2027-03-09 22:20"), "gw-b", "up"),
        (local("2027-03-09 23:00"), "gw-c", "up"),
    ]
    for (at, gw, camera), (later, _, _) in zip(steps, [*steps[1:], steps[-1]], strict=True):
        run.report(at, gw, camera=camera)
        run.alive(at, later)
    closed = {i.id: bool(i.live_tasks()) for i in run.engine.incidents.values() if not i.live}
    assert sorted(closed.values()) == [False, True]  # gw-b's visit at 22:30 is kept
    dropped = run.engine.forget_closed(local("2027-03-10 00:00"))
    assert dropped == [iid for iid, busy in closed.items() if not busy]
    assert len(run.engine.incidents) == 1

"""Property tests of the routine (issue 4, "Must show"):

- every outage at a time when a home has a scheduled night check yields a
  ``physical_visit`` for that check, unless the camera recovers first;
- no task is ever created twice for the same step of the same incident.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.engine import Acknowledge, CheckFailed, TaskRef
from central.errors import UnknownTask
from central.registry import Home, Registry
from tests.engine.helpers import STOCKHOLM, Run, availability

GWS = ("gw-a", "gw-b", "gw-c", "gw-d")
SETTLE = timedelta(minutes=10)
LEAD = timedelta(minutes=15)

DAYS = st.one_of(
    st.sampled_from(
        [
            date(2027, 3, 27),
            date(2027, 3, 28),
            date(2027, 10, 30),
            date(2027, 10, 31),
            date(2027, 12, 24),
            date(2027, 6, 25),
            date(2027, 4, 2),
        ]
    ),
    st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31)),
)
CLOCKS = st.lists(
    st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
    min_size=1,
    max_size=4,
    unique=True,
)


def fleet(checks: list[time]) -> Registry:
    return Registry(
        Home(gw, "g1", tuple(sorted(checks)) if gw == "gw-a" else (time(22, 30),)) for gw in GWS
    )


def run_outage(start: datetime, checks: list[time], back: datetime | None, end: datetime) -> Run:
    run = Run(fleet(checks))
    for gw in GWS:
        run.report(start - timedelta(minutes=30), gw)
    run.report(start, "gw-a", camera="failed")
    if back is None:
        return run.alive(start, end)
    run.alive(start, back)
    run.event(back, "gw-a", "device_up")
    run.report(back, "gw-a")
    return run.alive(back, end)


def local_checks(checks: list[time], start: datetime, end: datetime) -> list[datetime]:
    home = Home("x", "g", tuple(sorted(checks)))
    return home.checks_between(start, end, STOCKHOLM)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    day=DAYS,
    minute=st.integers(0, 1439),
    checks=CLOCKS,
    back_after=st.one_of(st.none(), st.integers(1, 30 * 60)),
)
def test_property_outage_spanning_a_check_gets_its_visit(
    day: date, minute: int, checks: list[time], back_after: int | None
) -> None:
    start = datetime.combine(day, time(), tzinfo=STOCKHOLM).astimezone(UTC) + timedelta(
        minutes=minute
    )
    back = start + timedelta(minutes=back_after) if back_after is not None else None
    end = max(start + timedelta(hours=30), (back or start) + timedelta(hours=1))
    run = run_outage(start, checks, back, end)
    visits = Counter(d.check for d in run.tasks("physical_visit") if d.gateways == ("gw-a",))
    down_until = back if back is not None else start + timedelta(hours=24)
    for check in local_checks(checks, start, down_until):
        assert visits[check] == 1, f"no single visit for the check at {check}"
    if back is not None:
        incident = next(i for i in run.engine.incidents.values() if "gw-a" in i.gateways)
        live = [t.check for t in incident.tasks.values() if t.live and t.action == "physical_visit"]
        assert all(c is not None and c <= back + SETTLE + LEAD for c in live)


OPS = st.lists(
    st.tuples(
        st.integers(0, 36 * 60),
        st.sampled_from(GWS),
        st.sampled_from(["failed", "down", "up", "offline", "online", "check_failed", "ack"]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day=DAYS, ops=OPS)
def test_property_no_task_created_twice_for_a_step_of_an_incident(
    day: date, ops: list[tuple[int, str, str]]
) -> None:
    start = datetime.combine(day, time(8), tzinfo=STOCKHOLM).astimezone(UTC)
    run = Run(fleet([time(22, 30), time(1, 30)]))
    for gw in GWS:
        run.report(start, gw)
    for offset, gw, op in sorted(ops):
        at = start + timedelta(minutes=offset)
        _apply(run, at, gw, op)
    run.until(start + timedelta(hours=40))
    created = [d.task for d in run.tasks()]
    assert len(created) == len(set(created))
    for incident in run.engine.incidents.values():
        keys = [
            (t.step, t.gateway, t.check, t.role if t.action == "status_report" else "")
            for t in incident.tasks.values()
        ]
        assert len(keys) == len(set(keys))


def _apply(run: Run, at: datetime, gw: str, op: str) -> None:
    if op in ("failed", "down", "up"):
        run.report(at, gw, camera=op)
    elif op in ("offline", "online"):
        run.at(at, availability(gw, op))
    elif op == "check_failed":
        run.feed(CheckFailed(at, gw, at))
    else:
        with contextlib.suppress(UnknownTask):  # nothing to acknowledge yet: fine
            run.feed(Acknowledge(at, TaskRef(gateway=gw, action="physical_visit"), "p"))

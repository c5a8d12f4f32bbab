from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.restart import Cut, Policy, Refusal, Restore, Timing, WaitUntil
from agent.supervisor import DeviceSpec, Supervisor
from protocol import Health
from tests.agent.fakehome import T0, FakeHome, result


def armed_home(**kwargs: object) -> FakeHome:
    home = FakeHome(**kwargs)  # type: ignore[arg-type]
    home.rounds(2)
    assert home.take_events() == [("device_up", "router"), ("device_up", "camera")]
    return home


def test_supervisor_camera_hang_is_cycled_and_comes_back() -> None:
    home = armed_home()
    home.rounds(3, camera=False)
    assert home.take_events() == [
        ("device_down", "camera"),
        ("restart_started", "camera"),
    ]
    plan = home.plans[-1]
    assert plan.devices == ("camera",)
    assert plan.steps == (
        Cut(("camera",)),
        WaitUntil(home.now + timedelta(seconds=10)),
        Restore(("camera",)),
    )
    assert plan.boot_deadline == home.now + timedelta(seconds=70)
    home.rounds(2, camera=False)
    home.round()
    assert home.take_events() == [("restart_succeeded", "camera"), ("device_up", "camera")]
    assert home.state("camera") is Health.UP


def test_supervisor_dead_camera_fails_after_exactly_the_configured_attempts() -> None:
    home = armed_home()
    home.rounds(200, camera=False)
    events = home.take_events()
    camera = [e for e, d in events if d == "camera"]
    assert camera == ["device_down"] + ["restart_started", "restart_failed"] * 3 + [
        "restart_exhausted"
    ]
    assert [p.devices for p in home.plans] == [
        ("camera",),
        ("router", "camera"),
        ("router", "camera"),
    ]
    assert home.state("camera") is Health.FAILED
    assert home.state("router") is Health.UP


def test_supervisor_backoff_and_min_gap_space_the_attempts() -> None:
    home = armed_home()
    home.rounds(200, camera=False)
    starts = [p.started for p in home.plans]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
    # attempt 1 fails at its boot deadline (start + 70 s), past its 60 s back-off: next at once;
    # attempt 2's back-off (120 s from its start) outlasts its boot deadline
    assert gaps == [70.0, 120.0]


def test_supervisor_router_dead_makes_camera_unreachable_and_cycles_router() -> None:
    home = armed_home()
    home.rounds(3, router=False, camera=False)
    assert home.take_events() == [
        ("device_down", "router"),
        ("device_unreachable", "camera"),
        ("restart_started", "router"),
    ]
    assert home.plans[-1].devices == ("router",)
    home.round()
    assert home.take_events() == [
        ("restart_succeeded", "router"),
        ("device_up", "router"),
        ("device_up", "camera"),
    ]


def test_supervisor_camera_failing_first_is_still_unreachable_when_the_router_goes_down() -> None:
    home = armed_home()
    home.round(router=True, camera=False)
    home.rounds(3, router=False, camera=False)
    assert home.take_events() == [
        ("device_down", "router"),
        ("device_unreachable", "camera"),
        ("restart_started", "router"),
    ]


def test_supervisor_camera_failures_count_again_once_the_router_answers() -> None:
    home = armed_home()
    home.round(router=False, camera=False)
    home.rounds(3, router=True, camera=False)
    assert home.take_events() == [("device_down", "camera"), ("restart_started", "camera")]


def test_supervisor_success_resets_the_consecutive_count() -> None:
    home = armed_home()
    for _ in range(5):
        home.rounds(3, camera=False)
        home.round()
        home.rounds(30)
    assert [p.devices for p in home.plans] == [("camera",)] * 5
    assert home.sup.planner.budgets["camera"].consecutive == 0


def test_supervisor_24h_budget_ends_in_failed() -> None:
    home = armed_home()
    for _ in range(7):
        home.rounds(3, camera=False)
        home.round()
        home.rounds(30)
    camera = [e for e, d in home.take_events() if d == "camera"]
    assert camera.count("restart_started") == 6
    assert camera.count("restart_exhausted") == 1
    assert home.state("camera") is Health.UP


def test_supervisor_unarmed_device_is_not_cycled_within_its_boot_wait() -> None:
    home = FakeHome()  # boot wait 60 s: a camera may still be booting after the power cut
    home.rounds(5, camera=False)
    assert home.take_events() == [("device_up", "router"), ("device_down", "camera")]
    assert home.plans == []
    assert home.state("camera") is Health.DOWN


@pytest.mark.parametrize(
    ("unseen_attempts", "camera_events", "plans"),
    [
        (0, ["device_down", "restart_exhausted"], []),
        (
            1,
            ["device_down", "restart_started", "restart_failed", "restart_exhausted"],
            [("camera",)],
        ),
        (
            2,
            ["device_down"] + ["restart_started", "restart_failed"] * 2 + ["restart_exhausted"],
            [("camera",), ("router", "camera")],
        ),
    ],
)
def test_supervisor_never_seen_device_gets_its_attempts_then_fails_once(
    unseen_attempts: int, camera_events: list[str], plans: list[tuple[str, ...]]
) -> None:
    home = FakeHome(unseen_attempts=unseen_attempts)
    home.rounds(200, camera=False)  # dead from the agent's start: never armed
    assert [e for e, d in home.take_events() if d == "camera"] == camera_events
    assert [p.devices for p in home.plans] == plans
    assert home.state("camera") is Health.FAILED
    early = [p for p in home.plans if p.started < T0 + timedelta(seconds=60)]
    assert early == []  # nothing within the boot wait since the start


def test_supervisor_never_seen_device_cured_by_its_attempt_is_armed_as_usual() -> None:
    home = FakeHome()
    home.rounds(6, camera=False)
    assert home.take_events()[-2:] == [("device_down", "camera"), ("restart_started", "camera")]
    home.rounds(3)
    assert home.take_events() == [("restart_succeeded", "camera"), ("device_up", "camera")]
    assert home.sup.health["camera"].armed
    home.rounds(200, camera=False)  # armed now: the normal ladder and budget
    assert [p.devices for p in home.plans] == [
        ("camera",),  # the never-seen attempt
        ("camera",),
        ("router", "camera"),
        ("router", "camera"),
    ]


def test_supervisor_never_seen_device_gets_no_new_attempt_after_an_agent_restart() -> None:
    home = FakeHome()
    home.rounds(7, camera=False)
    assert len(home.plans) == 1
    saved = home.sup.export()
    again = FakeHome(now=home.now)  # the agent restarted mid-attempt
    again.sup.restore(saved)
    again.rounds(200, camera=False)
    assert again.plans == []
    assert [e for e, d in again.take_events() if d == "camera"] == [
        "device_down",
        "restart_exhausted",
    ]


def test_supervisor_command_counts_against_the_budget() -> None:
    home = armed_home(policy=Policy(max_consecutive=2, max_per_24h=2, min_gap_s=30))
    plan = home.command("camera")
    assert plan is not None and not isinstance(plan, Refusal)
    assert home.take_events() == [("restart_started", "camera")]
    refused = home.command("camera")
    assert isinstance(refused, Refusal)
    assert refused.reason == "camera is being power-cycled already"
    home.rounds(3)
    home.rounds(3)
    assert isinstance(home.command("camera"), Refusal) is False
    home.rounds(10)
    spent = home.command("camera")
    assert isinstance(spent, Refusal) and spent.spent
    assert spent.reason == "2 restarts within 24 h"


def test_supervisor_command_refuses_unknown_device() -> None:
    home = armed_home()
    refused = home.command("kettle")
    assert isinstance(refused, Refusal) and refused.reason == "unknown device 'kettle'"


def test_supervisor_export_restore_keeps_failed_and_budget() -> None:
    home = armed_home()
    home.rounds(200, camera=False)
    saved = home.sup.export()
    again = FakeHome()
    again.sup.restore(saved)
    again.rounds(50, camera=False)
    assert again.take_events() == [("device_up", "router")]
    assert again.plans == []
    assert again.state("camera") is Health.FAILED


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=400),
    st.integers(1, 4),
    st.integers(1, 8),
)
def test_supervisor_flapping_never_exceeds_the_budget(
    script: list[tuple[bool, bool]], max_consecutive: int, max_per_24h: int
) -> None:
    policy = Policy(max_consecutive, max_per_24h, min_gap_s=30, backoff_base_s=20)
    home = FakeHome(policy=policy)
    for router, camera in script:
        home.round(router, camera)
    assert all(p.attempt <= policy.max_consecutive for p in home.plans)
    for device in ("router", "camera"):
        cycles = [p.started for p in home.plans if device in p.devices]
        assert len(cycles) <= policy.max_per_24h
        caused = [p.started for p in home.plans if device in p.causes]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(caused)]
        assert all(g >= policy.min_gap_s for g in gaps)
        exhausted = [e for e in home.events if e == ("restart_exhausted", device)]
        ups = [e for e in home.events if e == ("device_up", device)]
        assert len(exhausted) <= len(ups) + 1
    for a, b in itertools.pairwise(home.plans):
        restored = max(s.when for s in a.steps if isinstance(s, WaitUntil))
        assert b.started >= restored


def test_supervisor_answers_probed_before_a_cut_do_not_end_the_restart() -> None:
    home = armed_home()
    probed_at = home.now + timedelta(seconds=5)
    home.now += timedelta(seconds=6)
    assert home.command("camera") is not None  # arrived while a round was probing
    assert home.take_events() == [("restart_started", "camera")]
    ok = {"router": result(True), "camera": result(True)}
    decision = home.sup.observe(ok, home.now, probed_at=probed_at)
    assert decision.events == ()
    assert home.state("camera") is Health.RESTARTING
    later = home.now + timedelta(seconds=20)
    decision = home.sup.observe(ok, later, probed_at=home.now + timedelta(seconds=1))
    assert [e.type.value for e in decision.events] == ["restart_succeeded", "device_up"]


@pytest.mark.parametrize(
    ("policy", "arm_rounds", "wait"),
    [
        # never armed: its one attempt spent, but max_consecutive leaves room for a person's
        (Policy(max_consecutive=3, min_gap_s=60, backoff_base_s=60), 0, timedelta(0)),
        # the 24 h limit spent, then aged out
        (Policy(max_consecutive=5, max_per_24h=1, min_gap_s=60), 2, timedelta(hours=25)),
    ],
)
def test_supervisor_command_the_budget_allows_restarts_a_failed_device(
    policy: Policy, arm_rounds: int, wait: timedelta
) -> None:
    home = FakeHome(policy=policy)
    home.rounds(arm_rounds)
    home.rounds(300, camera=False)
    assert home.state("camera") is Health.FAILED
    home.now += wait
    home.take_events()
    plan = home.command("camera")
    assert plan is not None and not isinstance(plan, Refusal), plan
    assert home.take_events() == [("restart_started", "camera")]
    home.rounds(20, camera=False)  # it did not help: failed again, people are still needed
    assert [e for e, d in home.take_events() if d == "camera"] == [
        "restart_failed",
        "restart_exhausted",
    ]
    assert home.state("camera") is Health.FAILED


def test_supervisor_device_without_relay_is_watched_never_cycled() -> None:
    specs = {
        "router": DeviceSpec(Timing(10, 60), relay=False),
        "camera": DeviceSpec(Timing(10, 60, "router"), relay=True),
    }
    sup = Supervisor(specs, down_after=1, arm_after=1, policy=Policy(min_gap_s=0), now=T0)
    plans = []
    for n in range(1, 60):
        now = T0 + timedelta(seconds=10 * n)
        sup.tick(now)
        decision = sup.observe({"router": result(n < 3), "camera": result(n < 3)}, now)
        plans += [decision.plan.devices] if decision.plan else []
    assert plans == []  # the router has no relay; the camera behind it is unreachable
    assert sup.health["router"].state is Health.DOWN
    assert sup.health["camera"].state is Health.UNREACHABLE
    snapshot = sup.snapshot(now)
    assert (snapshot["router"].auto_restart, snapshot["camera"].auto_restart) == (False, True)
    refused = sup.request("router", now)
    assert isinstance(refused, Refusal) and refused.reason == "router has no relay"


def test_supervisor_restore_from_a_clock_years_ahead_keeps_counting_but_never_waits_years() -> None:
    home = armed_home()
    home.rounds(5, camera=False)  # down, and its first attempt started
    assert [p.devices for p in home.plans] == [("camera",)]
    saved = home.sup.export()
    ahead = timedelta(days=3650)  # this boot's clock was not set yet: years behind the file
    budget = saved["camera"]["budget"]
    budget["last_attempt"] = (datetime.fromisoformat(budget["last_attempt"]) + ahead).isoformat()
    budget["cycles"] = [(datetime.fromisoformat(t) + ahead).isoformat() for t in budget["cycles"]]
    again = FakeHome()
    again.sup.restore(saved)
    again.rounds(100, camera=False)
    assert [p.devices for p in again.plans] == [("router", "camera"), ("router", "camera")]
    assert again.state("camera") is Health.FAILED
    assert again.sup.snapshot(again.now)["camera"].restarts_24h == 3  # the old cycle counts


def test_supervisor_confirms_a_failure_until_down_or_answered() -> None:
    home = FakeHome(down_after=3)
    assert not home.sup.confirming()  # unknown, nothing failed yet
    home.round(camera=False)
    assert home.sup.confirming()  # a device never seen up is confirmed down as well
    home.round()
    assert not home.sup.confirming()  # answered: the failure count starts again
    home.round(camera=False)
    home.round(camera=False)
    assert home.sup.confirming()
    home.round(camera=False)
    assert home.sup.health["camera"].state is Health.DOWN
    assert not home.sup.confirming()  # down: nothing left to confirm

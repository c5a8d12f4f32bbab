from __future__ import annotations

from datetime import timedelta

import pytest

from agent.restart import Budget, Cut, Policy, RestartPlanner, Restore, Timing, WaitUntil
from tests.agent.fakehome import T0

S = timedelta(seconds=1)


def planner(**policy: float) -> RestartPlanner:
    timings = {"router": Timing(10, 120), "camera": Timing(5, 60, "router")}
    return RestartPlanner(timings, Policy(**policy))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("failed", "ready_after_s"),
    [(1, 300), (2, 300), (3, 400), (4, 800), (5, 1000)],
)
def test_restart_backoff_doubles_and_is_capped(failed: int, ready_after_s: int) -> None:
    p = planner(max_consecutive=9, min_gap_s=300, backoff_base_s=100, backoff_max_s=1000)
    p.budgets["camera"] = Budget(consecutive=failed, last_attempt=T0)
    assert p.ready_at("camera") == T0 + ready_after_s * S
    assert p.ready_at("camera", command=True) == T0 + 300 * S


def test_restart_refusals_name_their_reason() -> None:
    p = planner(max_consecutive=2, max_per_24h=3, min_gap_s=60, backoff_base_s=0)
    assert p.refusal("camera", T0) is None
    p.plan(("camera",), ("camera",), T0)
    wait = p.refusal("camera", T0 + 20 * S)
    assert wait is not None and (wait.reason, wait.spent) == ("next attempt allowed in 40 s", False)
    p.plan(("camera",), ("camera",), T0 + 60 * S)
    spent = p.refusal("camera", T0 + 600 * S)
    assert spent is not None and (spent.reason, spent.spent) == (
        "2 consecutive attempts failed",
        True,
    )
    assert spent.detail == {"attempts": 2, "restarts_24h": 2}


def test_restart_24h_window_ages_out() -> None:
    p = planner(max_consecutive=9, max_per_24h=2, min_gap_s=0, backoff_base_s=0)
    p.plan(("camera",), ("camera",), T0)
    p.succeeded("camera")
    p.plan(("camera",), ("camera",), T0 + 3600 * S)
    p.succeeded("camera")
    refused = p.refusal("camera", T0 + timedelta(hours=23))
    assert refused is not None and refused.reason == "2 restarts within 24 h"
    assert p.refusal("camera", T0 + timedelta(hours=24)) is None
    assert p.restarts_24h("camera", T0 + timedelta(hours=24)) == 1


def test_restart_ladder_camera_first_then_router_and_camera() -> None:
    p = planner()
    assert p.devices_for("camera", parent_usable=True) == ("camera",)
    p.plan(("camera",), ("camera",), T0)
    assert p.devices_for("camera", parent_usable=True) == ("router", "camera")
    assert p.devices_for("camera", parent_usable=False) == ("camera",)
    assert p.devices_for("router", parent_usable=True) == ("router",)


def test_restart_plan_steps_restore_router_first_with_stagger() -> None:
    p = planner(restore_stagger_s=3)
    plan = p.plan(("camera",), ("router", "camera"), T0)
    assert plan.steps == (
        Cut(("router", "camera")),
        WaitUntil(T0 + 10 * S),
        Restore(("router",)),
        WaitUntil(T0 + 13 * S),
        Restore(("camera",)),
    )
    assert plan.boot_deadline == T0 + (13 + 120) * S
    assert (plan.attempt, plan.causes) == (1, ("camera",))
    assert p.restarts_24h("router", T0) == 1
    assert p.budgets["router"].consecutive == 0


def test_restart_budget_survives_json() -> None:
    budget = Budget(consecutive=2, last_attempt=T0, cycles=[T0 - 60 * S, T0])
    assert Budget.from_json(budget.to_json()) == budget

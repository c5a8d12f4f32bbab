from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from agent.errors import IllegalTransition
from agent.health import TABLE, DeviceHealth, Signal, mermaid
from protocol import EventType, Health
from tests.agent.fakehome import T0, result


def machine() -> DeviceHealth:
    return DeviceHealth("camera", down_after=3, arm_after=2, since=T0)


def feed(h: DeviceHealth, *oks: bool, parent_down: bool = False) -> list[str]:
    out: list[str] = []
    for i, ok in enumerate(oks):
        out += [
            e.type.value
            for e in h.observe(result(ok), T0 + timedelta(seconds=i), parent_down=parent_down)
        ]
    return out


def test_health_goes_down_only_after_threshold() -> None:
    h = machine()
    assert feed(h, True, False, False) == ["device_up"]
    assert feed(h, False) == ["device_down"]
    assert h.state is Health.DOWN


def test_health_one_success_resets_the_failure_count() -> None:
    h = machine()
    assert feed(h, True, False, False, True, False, False) == ["device_up"]
    assert h.state is Health.UP


def test_health_unknown_goes_down_without_being_up_but_is_not_armed() -> None:
    h = machine()
    assert feed(h, False, False, False) == ["device_down"]
    assert not h.armed


def test_health_arms_after_m_rounds_up() -> None:
    h = machine()
    feed(h, True)
    assert not h.armed
    feed(h, True)
    assert h.armed


def test_health_parent_down_makes_it_unreachable_not_down() -> None:
    h = machine()
    feed(h, True)
    assert feed(h, False, False, False, False, parent_down=True) == ["device_unreachable"]
    assert h.state is Health.UNREACHABLE
    assert feed(h, False, False) == []
    assert feed(h, False) == ["device_down"]


def test_health_restart_succeeds_or_fails_by_boot_deadline() -> None:
    h = machine()
    feed(h, True, False, False, False)
    deadline = T0 + timedelta(seconds=60)
    started = h.restart_started(T0, deadline, {"attempt": 1})
    assert [e.type for e in started] == [EventType.RESTART_STARTED]
    assert feed(h, False, False) == []
    assert h.tick(deadline - timedelta(seconds=1)) == []
    failed = h.tick(deadline)
    assert [(e.type, dict(e.detail)) for e in failed] == [
        (EventType.RESTART_FAILED, {"attempt": 1})
    ]
    assert h.state is Health.DOWN
    h.restart_started(deadline, deadline + timedelta(seconds=60), {"attempt": 2})
    assert feed(h, True) == ["restart_succeeded", "device_up"]


def test_health_budget_spent_fails_once_and_only_a_success_leaves_failed() -> None:
    h = machine()
    feed(h, True, False, False, False)
    assert [e.type for e in h.budget_spent(T0, {"attempts": 3})] == [EventType.RESTART_EXHAUSTED]
    assert feed(h, False, False, False) == []
    with pytest.raises(IllegalTransition):
        h.budget_spent(T0, {})
    assert feed(h, True) == ["device_up"]


def test_health_illegal_transition_raises() -> None:
    h = machine()
    with pytest.raises(IllegalTransition, match="no transition from up on budget_spent"):
        feed(h, True)
        h.budget_spent(T0, {})


def test_health_table_covers_probe_signals_in_every_state() -> None:
    for state in Health:
        for signal in (Signal.PROBE_OK, Signal.PROBE_FAILED, Signal.PARENT_DOWN):
            assert (state, signal) in TABLE


def test_health_mermaid_lists_every_event_transition() -> None:
    text = mermaid()
    assert "restarting --> up: probe_ok / restart_succeeded, device_up" in text
    assert "up --> down: probe_failed [failures >= down_after] / device_down" in text


def test_health_docs_diagram_is_current() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "agent.md").read_text()
    assert f"```mermaid\n{mermaid()}\n```" in docs

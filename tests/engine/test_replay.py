"""``driftvakt-central replay`` over a recorded night with human input
(docs/replay.md): decisions in time order with every required field, timers
firing between lines, bad lines reported with their number and skipped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from central.cli import main

REGISTRY = """gateway,homecare_group,night_checks,label,camera_serial
gw-1,Alby,22:30 01:30,Anna A,CAM-1
gw-2,Alby,22:30,,CAM-2
gw-3,Alby,,,CAM-3
"""
P = "driftvakt/v1/botkyrka"


def state(gw: str, camera: str, seq: int) -> dict[str, object]:
    devices = {
        "router": {"health": "up", "since": "2020-01-01T00:00:00Z"},
        "camera": {"health": camera, "since": "2020-01-01T00:00:00Z"},
    }
    return {
        "v": 1,
        "ts": "2020-01-01T00:00:00Z",
        "boot": "b",
        "seq": seq,
        "agent": "1",
        "uptime_s": 1,
        "heartbeat_s": 3600,
        "devices": devices,
    }


def night_lines() -> list[str]:
    """Heartbeats from 20:00 local; gw-1's restart is exhausted at 21:40 local."""
    online = {"at": "2027-03-09T19:00:00Z", "topic": f"{P}/gw-2/availability", "payload": "online"}
    lines: list[object] = [online]
    for seq, hour in enumerate(("19:00", "19:50", "20:40", "21:30", "22:20", "23:10")):
        for gw in ("gw-1", "gw-2", "gw-3"):
            camera = "failed" if gw == "gw-1" and hour >= "20:40" else "up"
            at = f"2027-03-09T{hour}:00Z"
            lines.append({"at": at, "topic": f"{P}/{gw}/state", "payload": state(gw, camera, seq)})
        if hour == "20:40":
            lines.append("this is not json")
            lines.append(
                {
                    "at": "2027-03-09T20:41:00Z",
                    "human": "acknowledge",
                    "gateway": "gw-1",
                    "action": "physical_visit",
                    "check": "2027-03-09T21:30:00Z",
                }
            )
    lines.append(
        {
            "at": "2027-03-09T23:15:00Z",
            "human": "visit_done",
            "gateway": "gw-1",
            "action": "physical_visit",
            "check": "2027-03-09T21:30:00Z",
            "restarted": True,
            "camera_works": False,
        }
    )
    lines.append({"at": "2027-03-09T23:16:00Z", "human": "acknowledge", "task": "nope"})
    return [x if isinstance(x, str) else json.dumps(x) for x in lines]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    registry = tmp_path / "registry.csv"
    registry.write_text(REGISTRY)
    messages = tmp_path / "night.jsonl"
    messages.write_text("\n".join(night_lines()) + "\n")
    return registry, messages


def run(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, Any]], str]:
    status = main(["replay", *args])
    captured = capsys.readouterr()
    return status, [json.loads(x) for x in captured.out.splitlines()], captured.err


def test_replay_prints_decisions_with_required_fields(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    registry, messages = files
    status, out, err = run(
        ["--registry", str(registry), "--until", "2027-03-10T00:00:00Z", str(messages)], capsys
    )
    assert status == 0
    required = {"at", "incident", "kind", "gateways", "role", "action", "step", "check", "event"}
    assert all(required <= set(d) for d in out)
    assert [d["at"] for d in out] == sorted(d["at"] for d in out)
    rows = [
        (d["at"][11:16], d["event"], d["role"], d["action"], (d["check"] or "")[11:16])
        for d in out
        if d["event"] not in ("reminder", "escalated")
    ]
    assert rows == [
        ("20:40", "incident_opened", "nattpatrullen", None, ""),
        ("20:40", "task_created", "nattpatrullen", "physical_visit", "21:30"),
        ("20:40", "task_created", "nattpatrullen", "physical_visit", "00:30"),
        ("20:41", "acknowledged", "nattpatrullen", "physical_visit", "21:30"),
        ("23:15", "completed", "nattpatrullen", "physical_visit", "21:30"),
        ("23:15", "task_created", "nattpatrullen", "journal_note", "21:30"),
        ("23:15", "task_created", "larmgruppen", "handover", ""),
    ]
    assert {tuple(d["gateways"]) for d in out} == {("gw-1",)}
    assert "Anna" not in json.dumps(out)
    assert err.splitlines() == [
        "line 11: not valid JSON; skipped",
        "line 23: no task matches TaskRef(task='nope', gateway=None, action=None, check=None, "
        "incident=None); skipped",
    ]


def test_replay_strict_exits_nonzero_on_bad_lines(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    registry, messages = files
    status, _, err = run(
        ["--strict", "--registry", str(registry), "--until", "2027-03-09T21:00:00Z", str(messages)],
        capsys,
    )
    assert status == 1 and "line 11" in err


def test_replay_default_runs_timers_24h_after_last_line(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    registry, messages = files
    _, out, _ = run(["--registry", str(registry), str(messages)], capsys)
    assert out[-1]["at"] <= "2027-03-10T23:16:00Z"
    assert any(d["at"] > "2027-03-10T04:00:00Z" for d in out)


def test_replay_bad_registry_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = tmp_path / "r.csv"
    registry.write_text("gateway,homecare_group,night_checks\nBAD,,\n")
    status, _, err = run(["--registry", str(registry), str(tmp_path / "none.jsonl")], capsys)
    assert status == 2 and "line 2, column gateway" in err


def test_replay_console_script_runs(files: tuple[Path, Path]) -> None:
    registry, messages = files
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "driftvakt-central"),
            "replay",
            "--registry",
            str(registry),
            "--until",
            "2027-03-09T21:00:00Z",
            str(messages),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0
    assert json.loads(done.stdout.splitlines()[0])["event"] == "incident_opened"

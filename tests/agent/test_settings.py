"""The running agent's configuration comes from a child process, never from pydantic in-process."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from agent import service
from agent.config import load_config
from agent.errors import ConfigCheckFailed, ConfigError
from agent.settings import AgentConfig, load_in_child

DATA = Path(__file__).parent / "data"


def test_settings_from_the_child_equal_the_in_process_ones() -> None:
    path = DATA / "good-minimal.toml"
    compiled = load_in_child(path)
    assert isinstance(compiled, AgentConfig)
    assert compiled == load_config(path)


@pytest.mark.parametrize("name", ["bad-fields", "bad-cross"])
def test_settings_child_reports_the_same_problems(name: str) -> None:
    path = DATA / f"{name}.toml"
    with pytest.raises(ConfigError) as in_process:
        load_config(path)
    with pytest.raises(ConfigError) as from_child:
        load_in_child(path)
    assert str(from_child.value) == str(in_process.value)
    assert from_child.value.problems == in_process.value.problems


def test_settings_child_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file or directory"):
        load_in_child(tmp_path / "absent.toml")


def test_settings_child_that_cannot_run_is_not_a_verdict_on_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(ConfigCheckFailed) as caught:
        load_in_child(DATA / "good-minimal.toml")
    assert not isinstance(caught.value, ConfigError)
    assert "could not run" in str(caught.value)
    assert "driftvakt-agent check-config" in str(caught.value)


@pytest.mark.parametrize(
    ("script", "reported"),
    [
        ("echo 'boom: the child failed' >&2; exit 3", "boom: the child failed"),
        ("echo 'Warning: something printed on stdout'", "unreadable answer"),
    ],
    ids=["crash", "not-a-pickle"],
)
def test_settings_child_that_fails_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str, reported: str
) -> None:
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    with pytest.raises(ConfigCheckFailed, match=reported):
        load_in_child(DATA / "good-minimal.toml")


def test_settings_service_exits_restartable_when_the_check_cannot_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """78 (EX_CONFIG) would stop systemd from restarting: only a bad file earns it."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    assert service.run(DATA / "good-minimal.toml") == service.EXIT_FAILURE
    monkeypatch.undo()
    assert service.run(DATA / "bad-fields.toml") == service.EXIT_CONFIG


def test_settings_child_writes_one_pickle_and_no_text() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agent.config", str(DATA / "good-minimal.toml")],
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert pickle.loads(out.stdout) == load_config(DATA / "good-minimal.toml")
    assert out.stderr == b""


def test_settings_module_needs_nothing_but_the_standard_library() -> None:
    code = "import sys, agent.settings; print(sorted(m for m in sys.modules if 'pydantic' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

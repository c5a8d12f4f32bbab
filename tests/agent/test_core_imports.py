"""House style 1: the agent's deciding modules import no I/O and read no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

AGENT = Path(__file__).parents[2] / "agent"
CORE = ["health.py", "restart.py", "supervisor.py", "results.py", "wiring.py"]
FORBIDDEN = {"socket", "gpiozero", "paho", "time", "subprocess", "sqlite3", "requests", "os"}


@pytest.mark.parametrize("name", CORE)
def test_core_imports_no_io(name: str) -> None:
    tree = ast.parse((AGENT / name).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN
    source = (AGENT / name).read_text()
    assert "datetime.now" not in source and "utcnow" not in source

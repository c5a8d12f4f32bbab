"""The agent's message code takes only stdlib names from ``protocol`` (docs/protocol.md).

A name such as ``protocol.Event`` still works in the agent, but loads pydantic
(about 10 MB of the Pi's 40 MB budget) on first use; this test reads the
source, so it also guards code paths no other test runs. ``agent/config.py``
is the exception until its pydantic models are replaced.
"""

from __future__ import annotations

import ast
from pathlib import Path

import protocol

AGENT = Path(__file__).resolve().parents[2] / "agent"
ALLOWED_PYDANTIC = {"config.py"}
HEAVY_MODULES = ("pydantic", "pydantic_core", "protocol.models", "protocol.parsing")
HEAVY_NAMES = set(protocol._LAZY)


def _heavy_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith(HEAVY_MODULES)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith(HEAVY_MODULES):
                found.append(node.module)
            elif node.module == "protocol":
                found += [f"protocol.{a.name}" for a in node.names if a.name in HEAVY_NAMES]
    return found


def test_agent_modules_import_no_pydantic_backed_protocol_names() -> None:
    files = [p for p in sorted(AGENT.rglob("*.py")) if p.name not in ALLOWED_PYDANTIC]
    assert files
    offenders = {str(p.relative_to(AGENT)): _heavy_imports(p) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_import_check_finds_a_heavy_import(tmp_path: Path) -> None:
    source = tmp_path / "bad.py"
    source.write_text("from protocol import Event, EventType\nimport pydantic\n")
    assert _heavy_imports(source) == ["protocol.Event", "pydantic"]

"""House style rule 1: the deciding cores import no I/O and read no clock.

Every decision must be explainable from its inputs and replayable, so the
cores below may not reach sockets, brokers, GPIO, databases or the wall clock;
`now` is always an argument. This test reads the source, so it also guards
code paths no other test happens to run.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORES = [
    "central/engine",
    "central/policy",
    "central/registry",
    "agent/health",
    "agent/restart",
    "agent/supervisor",
    "agent/results",
    "agent/wiring",
]
FORBIDDEN_MODULES = {
    "asyncio",
    "fastapi",
    "gpiozero",
    "http",
    "paho",
    "psycopg",
    "requests",
    "select",
    "smtplib",
    "socket",
    "sqlalchemy",
    "sqlite3",
    "ssl",
    "subprocess",
    "threading",
    "time",
    "urllib",
}
CLOCK_CALLS = {"now", "utcnow", "today", "monotonic", "perf_counter"}


def _files(core: str) -> list[Path]:
    path = ROOT / core
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    assert files and all(f.exists() for f in files), f"core {core} is missing: update CORES"
    return files


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            mods = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods = [node.module]
        else:
            mods = []
        found += [f"imports {m}" for m in mods if m.split(".")[0] in FORBIDDEN_MODULES]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_CALLS
            and not node.args
            and not node.keywords
        ):
            found.append(f"reads the clock with .{node.func.attr}() at line {node.lineno}")
    return found


@pytest.mark.parametrize("core", CORES)
def test_core_imports_no_io_and_reads_no_clock(core: str) -> None:
    problems = {str(f.relative_to(ROOT)): v for f in _files(core) if (v := _violations(f))}
    assert problems == {}


def test_purity_check_catches_a_clock_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import socket\nfrom datetime import datetime\nx = datetime.now()\n")
    assert _violations(bad) == ["imports socket", "reads the clock with .now() at line 3"]

"""The gateway installs the `agent` extra only: prove nothing of central's comes along.

Two checks: the declared dependencies (what pip would pull), and the import
graph of every agent module run in a fresh interpreter that refuses central's
libraries (what the code would need).
"""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGENT_DEPS = {"paho-mqtt", "gpiozero", "pydantic"}
CENTRAL_ONLY = [
    "sqlalchemy",
    "psycopg",
    "holidays",
    "requests",
    "fastapi",
    "uvicorn",
    "jinja2",
    "argon2",
    "itsdangerous",
    "cryptography",
    "central",
    "sim",
]


def _name(requirement: str) -> str:
    for sep in "<>=!~[; ":
        requirement = requirement.split(sep)[0]
    return requirement.lower()


def test_agent_extra_declares_only_gateway_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        _name(r) for r in project["dependencies"] + project["optional-dependencies"]["agent"]
    }
    assert declared == AGENT_DEPS


def _third_party_imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"__future__"}


def test_agent_and_protocol_import_only_gateway_libraries() -> None:
    allowed = {"agent", "protocol", "paho", "gpiozero", "pydantic", "systemd", "lgpio"}
    for package in ("agent", "protocol"):
        assert _third_party_imports(package) <= allowed, package


_BLOCKER = """
import importlib.abc, importlib.util, pkgutil, sys
BLOCKED = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"agent must not import {name}")
        return None
sys.meta_path.insert(0, Block())
import agent
for mod in pkgutil.walk_packages(agent.__path__, "agent."):
    importlib.import_module(mod.name)
print("imported", len(sys.modules))
"""


def test_every_agent_module_imports_without_central_libraries() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _BLOCKER, ",".join(CENTRAL_ONLY)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported")

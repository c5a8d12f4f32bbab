"""What the agent imports of ``protocol`` costs no pydantic (its RSS budget on the Pi).

Each check runs in a fresh interpreter: in this one, other tests have long
since imported pydantic.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AGENT_SIDE = [
    "protocol",
    "protocol.vocab",
    "protocol.names",
    "protocol.ids",
    "protocol.broker_url",
    "protocol.errors",
    "protocol.encode",
    "protocol.command",
]


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return done.stdout.strip()


def _pydantic_after(imports: list[str]) -> str:
    code = f"import sys, {', '.join(imports)}; print('pydantic' in sys.modules)"
    return _run(code)


def test_the_agents_protocol_modules_do_not_import_pydantic() -> None:
    assert _pydantic_after(AGENT_SIDE) == "False"


def test_the_check_sees_pydantic_when_it_is_imported() -> None:
    """The control: the same check does report the models' import."""
    assert _pydantic_after([*AGENT_SIDE, "protocol.models"]) == "True"


@pytest.mark.parametrize(
    "name",
    ["Command", "CommandResult", "DeviceState", "Event", "IncidentSummary", "StateSnapshot"],
)
def test_the_models_still_load_from_the_package(name: str) -> None:
    code = f"import protocol, protocol.models as m; print(getattr(protocol, {name!r}) is m.{name})"
    assert _run(code) == "True"


def test_parse_stays_the_function_whoever_imports_its_module_first() -> None:
    code = (
        "import protocol.parsing as m; from protocol import parse, Message, Rejected;"
        "print(parse is m.parse and Message is m.Message and Rejected is m.Rejected)"
    )
    assert _run(code) == "True"


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import protocol

    with pytest.raises(AttributeError, match="has no attribute 'Nonsense'"):
        protocol.Nonsense  # noqa: B018

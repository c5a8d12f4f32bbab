from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import AgentConfigModel, compile_config, load_config
from agent.errors import ConfigError
from agent.wiring import Wiring

DATA = Path(__file__).parent / "data"
EXAMPLE = Path(__file__).parents[2] / "firmware-config" / "agent.example.toml"


def expected(name: str) -> str:
    """The exact error text for ``data/NAME.toml`` ({path} and {dir} filled in)."""
    text = (DATA / f"{name}.expected").read_text().rstrip("\n")
    return text.replace("{path}", str(DATA / f"{name}.toml")).replace("{dir}", str(DATA))


def test_config_good_minimal_file_gets_defaults() -> None:
    config = load_config(DATA / "good-minimal.toml")
    assert config.gateway.probe_interval_s == 10
    assert config.relay_board.wiring is Wiring.NC
    assert config.health.down_after == 3
    assert config.restart.max_consecutive == 3
    assert config.devices["camera"].probes[0].timeout_s == 2
    assert config.gateway.state_file == Path("/var/lib/driftvakt/state.json")


def test_config_bad_fields_lists_every_problem() -> None:
    path = DATA / "bad-fields.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == expected("bad-fields")


def test_config_bad_cross_references_lists_every_problem() -> None:
    path = DATA / "bad-cross.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == expected("bad-cross")


def test_config_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file or directory"):
        load_config(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[gateway\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_config_relative_paths_follow_the_file(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x")
    text = (DATA / "good-minimal.toml").read_text()
    text = text.replace(
        'url = "mqtt://127.0.0.1:1883"', 'url = "mqtts://127.0.0.1:8883"\nca_file = "ca.pem"'
    )
    text = text.replace('id = "gw-0001"', 'id = "gw-0001"\nstate_file = "state.json"')
    (tmp_path / "agent.toml").write_text(text)
    config = load_config(tmp_path / "agent.toml")
    assert config.broker.ca_file == tmp_path / "ca.pem"
    assert config.gateway.state_file == tmp_path / "state.json"
    assert (config.broker.host, config.broker.port, config.broker.tls) == ("127.0.0.1", 8883, True)


def test_config_example_is_valid_but_for_its_installed_files() -> None:
    model = AgentConfigModel.model_validate(tomllib.loads(EXAMPLE.read_text()))
    assert compile_config(model, EXAMPLE.parent).parents_first() == ["router", "camera"]
    with pytest.raises(ConfigError) as caught:
        load_config(EXAMPLE)
    assert [p.key for p in caught.value.problems] == ["broker.password_file", "broker.ca_file"]


def test_config_check_config_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(DATA / "good-minimal.toml")]) == 0
    assert capsys.readouterr().out.endswith("ok (1 devices; relays: camera on GPIO27)\n")
    assert main(["check-config", str(DATA / "bad-fields.toml")]) == 1
    assert capsys.readouterr().err == expected("bad-fields") + "\n"


def test_config_retry_interval_defaults_to_half_the_probe_interval(tmp_path: Path) -> None:
    assert load_config(DATA / "good-minimal.toml").gateway.retry_interval_s == 5
    text = (DATA / "good-minimal.toml").read_text()
    path = tmp_path / "agent.toml"
    path.write_text(text.replace("[gateway]\n", "[gateway]\nretry_interval_s = 12\n", 1))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [str(p) for p in caught.value.problems] == [
        "gateway.retry_interval_s = 12.0: must not exceed gateway.probe_interval_s"
    ]

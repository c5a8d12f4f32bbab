from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import AgentConfig, load_config
from agent.errors import ConfigError
from agent.wiring import Wiring

DATA = Path(__file__).parent / "data"
EXAMPLE = Path(__file__).parents[2] / "firmware-config" / "agent.example.toml"

BAD_FIELDS = """\
{path}: 6 problem(s)
  gateway.tenant = 'Botkyrka': must match ^[a-z0-9][a-z0-9-]{{0,31}}$
  gateway.probe_intervall_s = 5: unknown key, remove it or correct its spelling: did you mean probe_interval_s?
  broker.url = 'http://broker:1883': must look like mqtts://broker.example.se:8883 (mqtt:// or mqtts://)
  health.down_after = 0: must be at least 1
  devices.camera.relay_pin = 31: must be at most 27
  devices.camera.probes.0.kind = 'ping': must be one of 'icmp', 'tcp', 'http', 'https' or 'rtsp'"""

BAD_CROSS = """\
{path}: 13 problem(s)
  broker.password = '(missing)': give password or password_file
  broker.ca_file = '{dir}/missing-ca.pem': no such file: fix the path
  broker.url = 'mqtt://broker:1883': TLS files are set: use mqtts://
  relay_board.active_high = False: unsafe: an active-low (low-level trigger) board energises its coil when the pin floats or is pulled down, as gpiozero's close() and every reboot leave it, which cuts the devices; use an active-high board (docs/agent.md, 'Relay boards')
  restart.backoff_base_s = 600.0: must not exceed restart.backoff_max_s
  devices.camera.depends_on = 'modem': no such device: use one of ['camera', 'router']
  devices.camera.relay_pin = 4: unsafe: GPIO0-8 are pulled up at power-on, which energises the coil and cuts the device during every boot; use a pin from GPIO9-27 except 14 and 15
  devices.camera.probes.1.host = '(missing)': give host (an address or name), mac, or both
  devices.camera.probes = '2.5 s of timeouts': the timeouts must add up to less than gateway.probe_interval_s
  devices.router.relay_pin = 4: unsafe: GPIO0-8 are pulled up at power-on, which energises the coil and cuts the device during every boot; use a pin from GPIO9-27 except 14 and 15
  devices.router.relay_pin = 4: already the relay of camera: one pin per device
  devices.router.probes.0.port = '(missing)': a tcp probe needs a port
  devices.router.probes = '2 s of timeouts': the timeouts must add up to less than gateway.probe_interval_s"""


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
    assert str(caught.value) == BAD_FIELDS.format(path=path)


def test_config_bad_cross_references_lists_every_problem() -> None:
    path = DATA / "bad-cross.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == BAD_CROSS.format(path=path, dir=DATA)


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
    config = AgentConfig.model_validate(tomllib.loads(EXAMPLE.read_text()))
    assert config.parents_first() == ["router", "camera"]
    with pytest.raises(ConfigError) as caught:
        load_config(EXAMPLE)
    assert [p.key for p in caught.value.problems] == ["broker.password_file", "broker.ca_file"]


def test_config_check_config_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(DATA / "good-minimal.toml")]) == 0
    assert capsys.readouterr().out.endswith("ok (1 devices; relays: camera on GPIO27)\n")
    assert main(["check-config", str(DATA / "bad-fields.toml")]) == 1
    assert capsys.readouterr().err == BAD_FIELDS.format(path=DATA / "bad-fields.toml") + "\n"

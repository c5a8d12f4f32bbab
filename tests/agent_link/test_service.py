"""The service shell's small parts: stop reasons, exit codes, settings from a real config file."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from agent.config import load_config
from agent.mqtt_link import LinkSettings
from agent.service import EXIT_CONFIG, stop_reason
from sim.broker import Broker
from tests.agent_link.conftest import LINK_GATEWAYS
from tests.agent_link.home import AgentHome, agent_command


def test_stop_reason_reads_maintenance_file(tmp_path: Path) -> None:
    path = tmp_path / "stop-reason"
    path.write_text(json.dumps({"reason": "upgrade", "expected_back_s": 120, "other": 1}))
    assert stop_reason([signal.SIGTERM], path) == {"reason": "upgrade", "expected_back_s": 120}


def test_stop_reason_falls_back_to_signal_name(tmp_path: Path) -> None:
    (tmp_path / "bad").write_text("{not json")
    assert stop_reason([signal.SIGINT], tmp_path / "absent") == {"reason": "sigint"}
    assert stop_reason([signal.SIGTERM], tmp_path / "bad") == {"reason": "sigterm"}
    assert stop_reason([], tmp_path / "absent") == {"reason": "exit"}


def test_run_exits_78_on_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "agent.toml"
    bad.write_text('[gateway]\ntenant = "Botkyrka!"\n')
    done = subprocess.run(agent_command(bad, "run"), capture_output=True, text=True, timeout=30)
    assert done.returncode == EXIT_CONFIG
    assert "gateway.tenant" in done.stderr


def test_link_settings_from_config_reads_password_file(link_broker: Broker, tmp_path: Path) -> None:
    home = AgentHome(tmp_path / "home", link_broker, LINK_GATEWAYS[13])
    try:
        password = link_broker.account(home.gateway).password
        (tmp_path / "home" / "secret").write_text(password + "\n")
        text = home.config.read_text().replace(
            f'password = "{password}"', 'password_file = "secret"'
        )
        home.config.write_text(text)
        settings = LinkSettings.from_config(load_config(home.config))
    finally:
        home.close()
    assert (settings.host, settings.port) == (link_broker.host, link_broker.port)
    assert (settings.username, settings.password, settings.tls) == (home.gateway, password, True)
    assert settings.heartbeat_s == 5

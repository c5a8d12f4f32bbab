"""The gateway role's agent.toml, rendered for the example inventory, fits the agent's model.

The full check (``driftvakt-agent check-config`` inside a Bookworm root, with
the certificate files present) is in test_chroot_rollout.py; this one runs in
``make test`` so that a renamed or retyped agent key fails fast.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agent.config import AgentConfigModel
from tests.deploy.ansible_run import EXAMPLE, REPO, make_inventory, run_playbook

PLAYBOOK = Path(__file__).parent / "playbooks" / "render-agent-config.yml"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    base = tmp_path_factory.mktemp("agent-config")
    hosts: dict[str, object] = {
        "all": {"children": {"gateways": {"hosts": {"gw-0001": {}, "gw-0002": {}}}}}
    }
    inventory = make_inventory(base / "inventory", hosts)
    (base / "inventory" / "host_vars").mkdir()
    for host in ("gw-0001", "gw-0002"):
        source = EXAMPLE / "host_vars" / f"{host}.yml"
        (base / "inventory" / "host_vars" / f"{host}.yml").write_text(source.read_text())
    out = base / "out"
    out.mkdir()
    # role_path (the role's default for this) exists only inside the role's own tasks.
    firmware = str(REPO / "firmware-config")
    extra = {
        "render_dir": str(out),
        "ansible_become": False,
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "gateway_firmware_dir": firmware,
    }
    run_playbook(inventory, extra, playbook=str(PLAYBOOK)).check()
    return {p.stem: tomllib.loads(p.read_text()) for p in out.glob("*.toml")}


def test_gateway_agent_config_fits_the_agents_model(
    rendered: dict[str, dict[str, object]],
) -> None:
    assert sorted(rendered) == ["gw-0001", "gw-0002"]
    for host, data in rendered.items():
        config = AgentConfigModel.model_validate(data)
        assert config.gateway.id == host
        assert config.gateway.retry_interval_s is None  # unset: the agent's default applies
        assert config.broker.username == host
        # Pimoroni Automation HAT (the example's board), active-high, NC wiring.
        assert config.relay_board.active_high is True
        assert (config.devices["router"].relay_pin, config.devices["camera"].relay_pin) == (13, 19)


def test_gateway_agent_config_takes_the_homes_own_addresses(
    rendered: dict[str, dict[str, object]],
) -> None:
    routers = {
        host: AgentConfigModel.model_validate(data).devices["router"].probes[0].host
        for host, data in rendered.items()
    }
    assert routers == {"gw-0001": "192.168.1.1", "gw-0002": "192.168.0.1"}

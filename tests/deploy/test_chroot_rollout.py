"""A real run of the gateway and broker roles against Debian Bookworm roots.

Slow (a minute or more) and needs root, debootstrap and the full ``ansible``
package (community.general's chroot connection): run by ``make test-deploy``,
which sets DRIFTVAKT_TEST_DEPLOY=1. Each role gets its own root, unpacked from
a cached debootstrap tarball; Ansible reaches it through the chroot
connection, exactly as it would prepare an SD card image. Then: the installed
files, units and configs are checked; the broker the role installed is started
inside its root and the gateway's installed credentials connect to it; a
second run and a --check run report nothing changed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.broker_client import BrokerClient, Credentials, make_client
from sim.errors import BrokerConnectError
from tests.deploy.ansible_run import (
    REPO,
    PlayResult,
    example_vault,
    filters,
    issue_client_cert,
    make_inventory,
    run_playbook,
)
from tests.deploy.bookworm_root import root_tarball, unpacked_root

pytestmark = [
    pytest.mark.deploy,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DRIFTVAKT_TEST_DEPLOY") != "1",
        reason="slow debootstrap rollout: run `make test-deploy`",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="chroot and mount need root"),
]

GATEWAY = "gw-0001"
BROKER = "broker-test"
CENTRAL = "central-test"
ALL_HOSTS = ("localhost", BROKER, CENTRAL, GATEWAY)
LOOPBACK_DEVICES = {
    "router": {
        "off_time_s": 10,
        "boot_wait_s": 180,
        "probes": [
            {"kind": "icmp", "host": "127.0.0.1", "role": "lan"},
            {"kind": "tcp", "host": "127.0.0.3", "port": 9, "role": "wan"},
        ],
    },
    "camera": {
        "off_time_s": 10,
        "boot_wait_s": 120,
        "depends_on": "router",
        "probes": [{"kind": "rtsp", "host": "127.0.0.2", "port": 554, "role": "lan"}],
    },
}


@dataclass(frozen=True)
class Rollout:
    inventory: Path
    central_root: Path
    gateway_root: Path
    broker_root: Path
    port: int
    runs: dict[str, PlayResult]
    seconds: dict[str, float]
    untouched_by_fresh_check: list[Path]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _chroot(root: Path, *cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chroot", str(root), *cmd], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def rollout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rollout]:
    if shutil.which("debootstrap") is None:
        pytest.fail("debootstrap is missing: scripts/bootstrap.sh --deploy installs it")
    base = tmp_path_factory.mktemp("rollout")
    seconds: dict[str, float] = {}
    start = time.monotonic()
    tarball = root_tarball()
    seconds["root tarball (cached after the first run)"] = time.monotonic() - start
    port = _free_port()
    with (
        unpacked_root(tarball) as gw_root,
        unpacked_root(tarball) as broker_root,
        unpacked_root(tarball) as central_root,
    ):
        chroot = {"ansible_connection": "community.general.chroot"}
        hosts = {
            "all": {
                "children": {
                    "brokers": {"hosts": {BROKER: {**chroot, "ansible_host": str(broker_root)}}},
                    "central": {"hosts": {CENTRAL: {**chroot, "ansible_host": str(central_root)}}},
                    "gateways": {
                        "hosts": {
                            GATEWAY: {
                                **chroot,
                                "ansible_host": str(gw_root),
                                "gateway_router_ip": "127.0.0.1",
                                "gateway_camera_mac": "02:00:5e:10:00:01",
                            }
                        }
                    },
                }
            }
        }
        inventory = make_inventory(base / "inventory", hosts)
        extra = {
            "ansible_become": False,
            "driftvakt_broker_host": "localhost",
            "driftvakt_broker_port": port,
            "driftvakt_wheel_dir": str(base / "dist"),
            "broker_cert_san": ["DNS:localhost", "IP:127.0.0.1"],
            "broker_bind_address": "127.0.0.1",
            # A plain Debian root: no raspi-utils or python3-lgpio in its archive.
            "gateway_is_raspberry_pi_os": False,
            # The agent really runs below: every probe target stays on this
            # machine's loopback (the example's WAN check is a public address).
            "gateway_devices": LOOPBACK_DEVICES,
            # The roots are x86_64 like this machine (a Pi is aarch64), and
            # reach no PyPI: everything comes from the control node's wheelhouse.
            "driftvakt_wheelhouse": [
                {"extra": "agent", "platform": "manylinux2014_x86_64"},
                {"extra": "central", "platform": "manylinux2014_x86_64"},
            ],
            "central_pip_offline": True,
        }
        runs: dict[str, PlayResult] = {}
        untouched: list[Path] = []
        for name, args in (
            ("fresh check", ("--check",)),
            ("first", ()),
            ("second", ()),
            ("check", ("--check", "--diff")),
        ):
            start = time.monotonic()
            runs[name] = run_playbook(inventory, extra, *args)
            seconds[f"{name} run"] = time.monotonic() - start
            if name == "fresh check":
                untouched = [gw_root / "opt/driftvakt", gw_root / "etc/driftvakt"]
                untouched = [p for p in untouched if not p.exists()]
        yield Rollout(
            base / "inventory", central_root, gw_root, broker_root, port, runs, seconds, untouched
        )
    print("\nrollout timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))


def test_rollout_check_mode_on_fresh_hosts_runs_and_changes_nothing(rollout: Rollout) -> None:
    fresh = rollout.runs["fresh check"].check()
    assert fresh.failed == dict.fromkeys(ALL_HOSTS, 0)
    assert fresh.changed[GATEWAY] > 10  # what the first run will do
    assert len(rollout.untouched_by_fresh_check) == 2


def test_rollout_first_run_succeeds_and_changes_every_host(rollout: Rollout) -> None:
    first = rollout.runs["first"].check()
    assert first.failed == dict.fromkeys(ALL_HOSTS, 0)
    assert first.changed[GATEWAY] > 10 and first.changed[BROKER] > 3
    assert first.changed[CENTRAL] > 5


def test_rollout_second_run_changes_nothing(rollout: Rollout) -> None:
    second = rollout.runs["second"].check()
    assert second.changed == dict.fromkeys(ALL_HOSTS, 0), second.output[-4000:]


def test_rollout_check_mode_on_a_deployed_host_changes_nothing(rollout: Rollout) -> None:
    check = rollout.runs["check"].check()
    assert check.changed == dict.fromkeys(ALL_HOSTS, 0), check.output[-4000:]


def test_rollout_gateway_agent_config_passes_the_installed_check_config(rollout: Rollout) -> None:
    root = rollout.gateway_root
    agent = "/opt/driftvakt/venv/bin/driftvakt-agent"
    proc = _chroot(root, agent, "check-config", "/etc/driftvakt/agent.toml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = tomllib.loads((root / "etc/driftvakt/agent.toml").read_text())
    # Pimoroni Automation HAT: channel 1 is BCM 13, channel 2 is BCM 19, active-high.
    assert config["relay_board"] == {"active_high": True, "wiring": "nc"}
    assert (config["devices"]["router"]["relay_pin"], config["devices"]["camera"]["relay_pin"]) == (
        13,
        19,
    )
    assert config["broker"]["url"] == f"mqtts://localhost:{rollout.port}"
    assert config["gateway"] == {
        "tenant": "botkyrka",
        "id": GATEWAY,
        "probe_interval_s": 10,
        "heartbeat_s": 30,
    }


def test_rollout_gateway_agent_imports_without_central_dependencies(rollout: Rollout) -> None:
    proc = _chroot(
        rollout.gateway_root,
        "/opt/driftvakt/venv/bin/python",
        "-c",
        "import importlib.util as u, agent, gpiozero, paho.mqtt;"
        "print([m for m in ('sqlalchemy', 'fastapi', 'holidays') if u.find_spec(m)])",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_rollout_gateway_units_are_installed_enabled_and_verify(rollout: Rollout) -> None:
    root = rollout.gateway_root
    assert _chroot(root, "systemctl", "is-enabled", "driftvakt-agent.service").stdout.strip() == (
        "enabled"
    )
    unit = (root / "etc/systemd/system/driftvakt-agent.service").read_text()
    assert unit == (REPO / "firmware-config/systemd/driftvakt-agent.service").read_text()
    dropin = root / "etc/systemd/system/driftvakt-agent.service.d/10-relay-safe-level.conf"
    assert "ExecStopPost=+/usr/bin/pinctrl set 13,16,19 op dl" in dropin.read_text()
    # pinctrl is Raspberry Pi OS only; everything else in the unit must check out.
    verify = _chroot(root, "systemd-analyze", "verify", "driftvakt-agent.service")
    problems = [
        line
        for line in (verify.stdout + verify.stderr).splitlines()
        if line.strip() and "pinctrl" not in line
    ]
    assert problems == []


def test_rollout_gateway_firmware_and_os_settings(rollout: Rollout) -> None:
    root = rollout.gateway_root
    config_txt = (root / "boot/firmware/config.txt").read_text()
    reference = (REPO / "firmware-config/boot/config.txt").read_text()
    assert config_txt.count("BEGIN DRIFTVAKT") == 1
    # Exactly the documented block (the example inventory's Pimoroni board).
    assert config_txt == reference[reference.index("# BEGIN DRIFTVAKT") :]
    watchdog = (root / "etc/systemd/system.conf.d/driftvakt-watchdog.conf").read_text()
    assert "RuntimeWatchdogSec=15s" in watchdog
    assert "Storage=volatile" in (root / "etc/systemd/journald.conf.d/driftvakt.conf").read_text()
    sysctl = (root / "etc/sysctl.d/60-driftvakt-ping.conf").read_text()
    assert "net.ipv4.ping_group_range = 0 2147483647" in sysctl
    assert _chroot(root, "systemctl", "is-enabled", "systemd-timesyncd.service").stdout.strip() == (
        "enabled"
    )
    groups = _chroot(root, "id", "-nG", "driftvakt").stdout.split()
    assert "gpio" in groups


def test_rollout_central_database_admin_and_unit(rollout: Rollout) -> None:
    root = rollout.central_root
    cli = "/opt/driftvakt-central/venv/bin/driftvakt-central"
    config = "/etc/driftvakt-central/central.toml"
    listing = _chroot(root, cli, "users", "--config", config, "list")
    assert listing.returncode == 0, listing.stderr
    assert [line.split() for line in listing.stdout.splitlines()] == [["admin", "admin", "active"]]
    assert (root / "var/lib/driftvakt-central/central.db").exists()
    enabled = _chroot(root, "systemctl", "is-enabled", "driftvakt-central.service")
    assert enabled.stdout.strip() == "enabled"
    text = (root / "etc/driftvakt-central/central.toml").read_text()
    assert tomllib.loads(text)["broker"]["url"] == f"mqtts://localhost:{rollout.port}"


def test_rollout_secrets_are_not_world_readable(rollout: Rollout) -> None:
    gw, broker = rollout.gateway_root, rollout.broker_root
    for path in (
        gw / "etc/driftvakt/broker-password",
        gw / "etc/driftvakt/tls/client.key",
        broker / "etc/mosquitto/certs/server.key",
        broker / "etc/mosquitto/driftvakt.passwd",
        rollout.central_root / "etc/driftvakt-central/broker-password",
        rollout.central_root / "etc/driftvakt-central/link-secret",
        rollout.central_root / "etc/driftvakt-central/tls/client.key",
    ):
        assert path.stat().st_mode & 0o007 == 0, path


def test_rollout_installed_agent_reports_to_the_installed_broker(rollout: Rollout) -> None:
    """The agent, config, credentials and broker the roles installed, working together.

    Mosquitto runs from the broker root with the role's files; the agent runs
    from the gateway root with the role's agent.toml and credentials (GPIO
    through gpiozero's mock pins: there is no relay board here). A central
    subscriber on this machine sees the gateway come online and, after
    SIGTERM, say why it stops and go offline.
    """
    gw, broker_root = rollout.gateway_root, rollout.broker_root
    assert _chroot(broker_root, "systemctl", "is-enabled", "mosquitto.service").stdout.strip() == (
        "enabled"
    )
    prefix = f"driftvakt/v1/botkyrka/{GATEWAY}"
    with _running(["chroot", str(broker_root), "mosquitto", "-c", "/etc/mosquitto/mosquitto.conf"]):
        central = _connect_with_deadline(_central_credentials(rollout), rollout.port)
        try:
            central.subscribe(f"{prefix}/#")
            agent = [
                *("chroot", str(gw), "env", "GPIOZERO_PIN_FACTORY=mock"),
                *("/opt/driftvakt/venv/bin/driftvakt-agent", "run"),
            ]
            with _running(agent) as proc:
                online = central.until(f"{prefix}/availability", timeout=30)
                proc.terminate()
                assert proc.wait(timeout=30) == 0
            assert online[-1].payload == b"online"
            stopping = central.until(f"{prefix}/availability", timeout=10)
            assert stopping[-1].payload == b"offline"
            events = [json.loads(m.payload) for m in stopping if m.topic == f"{prefix}/events"]
            assert "agent_stopping" in [e["type"] for e in events]
        finally:
            central.close()


def _central_credentials(rollout: Rollout) -> Credentials:
    pki = rollout.inventory / "pki"
    issue_client_cert(pki, "central", example_vault()["vault_ca_passphrase"])
    return Credentials(
        username="central",
        password=filters().mqtt_password(example_vault()["vault_mqtt_password_seed"], "central"),
        certfile=pki / "test-central.crt",
        keyfile=pki / "test-central.key",
        cafile=pki / "ca.crt",
    )


@contextmanager
def _running(cmd: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        output = proc.communicate(timeout=10)[0].decode(errors="replace")
        print(f"\n--- {cmd[2]} (exit {proc.returncode}) ---\n{output[-3000:]}")


def _connect_with_deadline(creds: Credentials, port: int) -> BrokerClient:
    deadline = time.monotonic() + 15
    while True:
        try:
            return BrokerClient.connect(make_client(creds), "localhost", port)
        except BrokerConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

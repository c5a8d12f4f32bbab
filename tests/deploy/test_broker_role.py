"""The broker role's Mosquitto configuration, run by the real Mosquitto.

The role runs against this machine (connection local) with only its
configuration tasks (``--tags broker_config``) and every path under a
temporary directory; then Mosquitto starts on a free port with exactly the
files the role wrote. What the broker harness proves about its own rendering
(tests/broker) is proved here again for production's: the ACL lines are the
harness's, and a gateway cannot write under another gateway's prefix.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sim.broker import find_mosquitto
from sim.broker_client import BrokerClient, Credentials, make_client
from sim.broker_config import BrokerSettings, CentralAccount, GatewayAccount, render_acl
from sim.errors import BrokerConnectError
from tests.deploy.ansible_run import (
    PlayResult,
    example_vault,
    filters,
    issue_client_cert,
    make_inventory,
    run_playbook,
)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the role sets root ownership on the files it writes; run as root"
)

TENANT = "botkyrka"
OTHER_TENANT = "huddinge"
GATEWAYS = {"gw-0001": TENANT, "gw-0002": TENANT, "gw-0099": OTHER_TENANT}


@dataclass(frozen=True)
class RoleBroker:
    """Mosquitto running the role's files, and what clients need to reach it."""

    root: Path
    port: int
    pki: Path
    first_run: PlayResult
    second_run: PlayResult
    rerun: Callable[[], PlayResult]
    """The same playbook run once more."""

    @property
    def conf_dir(self) -> Path:
        return self.root / "etc" / "mosquitto"

    def credentials(self, account: str) -> Credentials:
        seed = example_vault()["vault_mqtt_password_seed"]
        return Credentials(
            username=account,
            password=filters().mqtt_password(seed, account),
            certfile=self.pki / f"test-{account}.crt",
            keyfile=self.pki / f"test-{account}.key",
            cafile=self.pki / "ca.crt",
        )

    def connect(self, account: str) -> BrokerClient:
        return BrokerClient.connect(make_client(self.credentials(account)), "127.0.0.1", self.port)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(broker: RoleBroker, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited ({proc.returncode}):\n{log.read_text()}")
        try:
            broker.connect("central").close()
            return
        except BrokerConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture(scope="module")
def role_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoleBroker]:
    base = tmp_path_factory.mktemp("broker-role")
    root, port = base / "root", _free_port()
    hosts = {
        "all": {
            "children": {
                "brokers": {"hosts": {"broker-test": {"ansible_connection": "local"}}},
                "gateways": {"hosts": {gw: {"driftvakt_tenant": t} for gw, t in GATEWAYS.items()}},
            }
        }
    }
    inventory = make_inventory(base / "inventory", hosts)
    extra = {
        "ansible_become": False,
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "broker_conf_dir": str(root / "etc" / "mosquitto"),
        "broker_persistence_dir": str(root / "var" / "lib" / "mosquitto"),
        "broker_hostname": "localhost",
        "broker_cert_san": ["DNS:localhost", "IP:127.0.0.1"],
        "broker_bind_address": "127.0.0.1",
        "broker_port": port,
        "broker_run_user": "root",
        # Files only: the test starts its own Mosquitto, never the host's service.
        "broker_manage_service": False,
    }
    (root / "var" / "lib" / "mosquitto").mkdir(parents=True)
    args = ("--limit", "localhost,brokers", "--tags", "broker_config")

    def rerun() -> PlayResult:
        return run_playbook(inventory, extra, *args).check()

    first, second = rerun(), rerun()
    pki = base / "inventory" / "pki"
    broker = RoleBroker(root, port, pki, first_run=first, second_run=second, rerun=rerun)
    for account in [*GATEWAYS, "central"]:
        issue_client_cert(pki, account, example_vault()["vault_ca_passphrase"])
    log = base / "mosquitto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(find_mosquitto()), "-c", str(broker.conf_dir / "mosquitto.conf")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(broker, proc, log)
        yield broker
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _topic(gateway: str, kind: str, tenant: str = TENANT) -> str:
    return f"driftvakt/v1/{tenant}/{gateway}/{kind}"


def test_broker_role_acl_is_the_harness_acl(role_broker: RoleBroker) -> None:
    accounts = [GatewayAccount(t, gw) for gw, t in GATEWAYS.items()]
    central = CentralAccount((TENANT, OTHER_TENANT))
    harness = render_acl([*accounts, central])
    role = (role_broker.conf_dir / "driftvakt.acl").read_text()

    def rules(text: str) -> list[str]:
        return [line for line in text.splitlines() if line and not line.startswith("#")]

    assert rules(role) == rules(harness)


def test_broker_role_queue_limits_are_the_harness_limits(role_broker: RoleBroker) -> None:
    """Mosquitto's default queues drop what waits for central; production must not."""
    defaults = BrokerSettings.__dataclass_fields__
    conf = (role_broker.conf_dir / "mosquitto.conf").read_text().splitlines()
    for key in ("max_queued_messages", "max_queued_bytes", "max_inflight_messages"):
        assert f"{key} {defaults[key].default}" in conf


def test_broker_role_second_run_changes_nothing(role_broker: RoleBroker) -> None:
    assert role_broker.first_run.changed["broker-test"] > 0
    assert role_broker.second_run.changed == {"broker-test": 0, "localhost": 0}


def test_broker_role_gateway_cannot_write_another_gateways_prefix(
    role_broker: RoleBroker,
) -> None:
    central = role_broker.connect("central")
    gw1 = role_broker.connect("gw-0001")
    try:
        central.subscribe("driftvakt/v1/#")
        for kind in ("state", "events", "availability", "cmd/result"):
            gw1.publish(_topic("gw-0002", kind), b'{"forged": true}')
            gw1.publish(_topic("gw-0099", kind, OTHER_TENANT), b'{"forged": true}')
        gw1.publish(_topic("gw-0001", "cmd"), b'{"type": "power_cycle"}')
        gw1.publish(_topic("gw-0001", "events"), b"control")

        arrived = central.until(_topic("gw-0001", "events"))
        assert [(m.topic, m.payload) for m in arrived] == [
            (_topic("gw-0001", "events"), b"control")
        ]
    finally:
        gw1.close()
        central.close()


def test_broker_role_gateway_reads_only_its_own_cmd(role_broker: RoleBroker) -> None:
    central = role_broker.connect("central")
    gw1 = role_broker.connect("gw-0001")
    try:
        gw1.subscribe(_topic("gw-0002", "cmd"), _topic("gw-0001", "cmd"), "driftvakt/v1/#")
        central.publish(_topic("gw-0002", "cmd"), b"for gw-0002")
        central.publish(_topic("gw-0001", "cmd"), b"for gw-0001")

        arrived = gw1.until(_topic("gw-0001", "cmd"))
        assert [(m.topic, m.payload) for m in arrived] == [
            (_topic("gw-0001", "cmd"), b"for gw-0001")
        ]
    finally:
        gw1.close()
        central.close()


def test_broker_role_refuses_a_wrong_password(role_broker: RoleBroker) -> None:
    creds = role_broker.credentials("gw-0001")
    wrong = Credentials(
        username=creds.username,
        password="not-the-derived-password",
        certfile=creds.certfile,
        keyfile=creds.keyfile,
        cafile=creds.cafile,
    )
    with pytest.raises(BrokerConnectError, match=r"refused|failed"):
        BrokerClient.connect(make_client(wrong), "127.0.0.1", role_broker.port)


def _not_after(cert: Path) -> datetime:
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-enddate", "-in", str(cert)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return datetime.strptime(
        out.strip().removeprefix("notAfter="), "%b %d %H:%M:%S %Y GMT"
    ).replace(tzinfo=UTC)


def test_broker_role_renews_a_certificate_that_expires_soon(role_broker: RoleBroker) -> None:
    """A run re-issues a leaf certificate within pki_renew_days (60) of its end, same key."""
    pki, installed = role_broker.pki, role_broker.conf_dir / "certs" / "server.crt"
    crt, key = pki / "broker-localhost.crt", pki / "broker-localhost.key"
    key_before = key.read_bytes()
    sign = ["-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"), "-passin", "env:CA_PASS"]
    subject = ["-subj", "/O=Driftvakt/CN=localhost", "-out", str(crt)]
    subprocess.run(  # the broker's certificate as it would be 815 days after issue
        ["openssl", "req", "-x509", "-new", "-key", str(key), *sign, "-days", "10", *subject],
        check=True,
        capture_output=True,
        env={**os.environ, "CA_PASS": example_vault()["vault_ca_passphrase"]},
    )
    expiring = crt.read_bytes()
    now = datetime.now(UTC)
    assert _not_after(crt) < now + timedelta(days=11)

    renewed = role_broker.rerun()

    assert renewed.changed["broker-test"] > 0
    assert _not_after(crt) > now + timedelta(days=800)
    assert (pki / "broker-localhost.crt.expiring").read_bytes() == expiring  # kept, not lost
    assert key.read_bytes() == key_before
    assert installed.read_bytes() == crt.read_bytes()  # and installed on the broker
    assert role_broker.rerun().changed == {"broker-test": 0, "localhost": 0}

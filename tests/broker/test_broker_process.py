"""The Broker harness itself: start, readiness, restart on the same port, stop, errors."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from sim.broker import Broker, BrokerError
from tests.conftest import TENANT, MakeBroker


def test_broker_start_with_many_gateways_each_can_connect(broker_factory: MakeBroker) -> None:
    broker = broker_factory(gateways=[f"gw-{i:04d}" for i in range(1000)])

    with broker.client("gw-0999") as last, broker.client("gw-0000") as first:
        assert last.client.is_connected() and first.client.is_connected()
    assert len(broker.accounts) == 1001


def test_broker_stop_is_idempotent_and_ends_the_process(broker_factory: MakeBroker) -> None:
    broker = broker_factory()
    assert broker.running

    broker.stop()
    broker.stop()

    assert not broker.running
    assert broker.log_text().splitlines()[-1].endswith("terminating")


def test_broker_restart_keeps_port_and_accounts(broker_factory: MakeBroker) -> None:
    broker = broker_factory()
    port, creds = broker.port, broker.account("gw-a")
    broker.stop()

    broker.start()

    assert broker.port == port
    assert broker.account("gw-a") == creds
    with broker.client("gw-a") as client:
        assert client.client.is_connected()


@pytest.mark.parametrize("persistence", [True, False])
def test_broker_persistence_keeps_queued_messages_across_restart(
    broker_factory: MakeBroker, persistence: bool
) -> None:
    broker = broker_factory(persistence=persistence)
    state = f"driftvakt/v1/{TENANT}/gw-a/state"
    with broker.client("central", client_id="central-1", clean_session=False) as central:
        central.subscribe(state)
    with broker.client("gw-a") as gw:
        gw.publish(state, b"while central was away")

    broker.stop()
    broker.start()

    with broker.client("central", client_id="central-1", clean_session=False) as central:
        if persistence:
            assert [m.payload for m in central.until(state)] == [b"while central was away"]
        else:
            central.subscribe(state)  # the session is gone: subscribe again to get a control
            with broker.client("gw-a") as gw:
                gw.publish(state, b"control")
            assert [m.payload for m in central.until(state)] == [b"control"]


def test_broker_start_on_a_taken_port_fails_with_the_log(broker_factory: MakeBroker) -> None:
    running = broker_factory()
    other = Broker(running.directory.parent / "other")
    other.add_gateway(TENANT, "gw-a")
    other.port = running.port

    try:
        with pytest.raises(BrokerError, match="Address already in use"):
            other.start(timeout=3.0)
    finally:
        other.stop()
    assert not other.running


def test_broker_refuses_accounts_while_running_and_start_without_accounts(
    broker_factory: MakeBroker, tmp_path: Path
) -> None:
    running = broker_factory()
    with pytest.raises(BrokerError, match="while stopped"):
        running.add_gateway(TENANT, "gw-late")
    with pytest.raises(BrokerError, match="exists already"):
        Broker(tmp_path / "dup").add_gateways(TENANT, ["gw-a", "gw-a"])
    with pytest.raises(BrokerError, match="no accounts"):
        Broker(tmp_path / "empty").start()


def test_broker_files_certificates_and_key_modes(broker: Broker) -> None:
    creds = broker.account("gw-16")
    cert = x509.load_pem_x509_certificate(creds.certfile.read_bytes())
    server = x509.load_pem_x509_certificate((broker.directory / "server.crt").read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "gw-16"
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    assert [str(a) for a in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    for key in (creds.keyfile, broker.directory / "server.key", broker.directory / "ca.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_broker_dies_with_a_killed_parent(tmp_path: Path) -> None:
    script = (
        "import sys, pathlib\n"
        "from sim.broker import Broker\n"
        "b = Broker(pathlib.Path(sys.argv[1]))\n"
        "b.add_gateway('botkyrka', 'gw-a')\n"
        "b.start()\n"
        "print(b.pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        assert Path(f"/proc/{pid}").exists()
    finally:
        parent.kill()  # SIGKILL: no finalizer, no atexit runs
        parent.wait()

    deadline = time.monotonic() + 5.0
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"

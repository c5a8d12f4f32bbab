"""Who may connect: TLS only, with a client certificate of the project CA and a password.

Each refusal test has a positive twin (the same account, everything right)
in ``test_tls_account_with_certificate_and_password_connects``.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from sim.broker import Broker, BrokerClient, BrokerConnectError, connect_packet, make_client
from sim.broker_client import CONNACK_ACCEPTED
from sim.certs import make_ca, make_client_cert


def connect(broker: Broker, **options: object) -> BrokerClient:
    creds = options.pop("creds", None) or broker.account("gw-14")
    assert not isinstance(creds, bool | str | int)
    paho = make_client(creds, **options)  # type: ignore[arg-type]
    return BrokerClient.connect(paho, broker.host, broker.port, timeout=3.0)


def test_tls_account_with_certificate_and_password_connects(broker: Broker) -> None:
    with connect(broker) as client:
        assert client.client.is_connected()


@pytest.mark.parametrize("protocol", [MQTTProtocolVersion.MQTTv311, MQTTProtocolVersion.MQTTv5])
def test_tls_anonymous_client_is_refused(broker: Broker, protocol: MQTTProtocolVersion) -> None:
    with pytest.raises(BrokerConnectError, match="refused"):
        connect(broker, anonymous=True, protocol=protocol)


def test_tls_wrong_password_is_refused(broker: Broker) -> None:
    creds = dataclasses.replace(broker.account("gw-14"), password="not-the-password")

    with pytest.raises(BrokerConnectError, match="refused"):
        connect(broker, creds=creds)


def test_tls_password_of_another_account_is_refused(broker: Broker) -> None:
    creds = dataclasses.replace(broker.account("gw-14"), password=broker.account("gw-15").password)

    with pytest.raises(BrokerConnectError, match="refused"):
        connect(broker, creds=creds)


def test_tls_unknown_user_is_refused(broker: Broker) -> None:
    creds = dataclasses.replace(broker.account("gw-14"), username="gw-9999")

    with pytest.raises(BrokerConnectError, match="refused"):
        connect(broker, creds=creds)


def test_tls_client_without_certificate_is_refused(broker: Broker) -> None:
    since = broker.log_size()

    with pytest.raises(BrokerConnectError):
        connect(broker, client_cert=False)

    broker.wait_for_log("peer did not return a certificate", since)


def test_tls_client_certificate_of_another_ca_is_refused(broker: Broker, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    rogue = make_client_cert(make_ca("Rogue CA", now), "gw-14", now)
    rogue.write(tmp_path / "rogue.crt", tmp_path / "rogue.key")
    creds = dataclasses.replace(
        broker.account("gw-14"), certfile=tmp_path / "rogue.crt", keyfile=tmp_path / "rogue.key"
    )

    since = broker.log_size()

    with pytest.raises(BrokerConnectError):
        connect(broker, creds=creds)

    broker.wait_for_log("certificate verify failed", since)


def test_tls_plain_mqtt_client_is_refused(broker: Broker) -> None:
    since = broker.log_size()

    with pytest.raises(BrokerConnectError):
        connect(broker, tls=False)

    broker.wait_for_log("wrong version number", since)


def test_tls_plain_connect_packet_gets_no_connack(broker: Broker) -> None:
    creds = broker.account("gw-14")
    with socket.create_connection((broker.host, broker.port), timeout=3.0) as sock:
        sock.sendall(connect_packet(creds.username, creds.password, "raw-probe"))
        try:
            reply = sock.recv(64)
        except ConnectionResetError:
            reply = b""
    # The TLS listener may answer with a TLS alert record (0x15), never a CONNACK (0x20).
    assert not reply.startswith(b"\x20")


def test_tls_raw_connect_over_tls_gets_connack(broker: Broker) -> None:
    """The raw probe's positive twin: the same bytes inside TLS get CONNACK 0 (accepted)."""
    creds = broker.account("gw-14")
    context = creds.ssl_context()
    with (
        socket.create_connection((broker.host, broker.port), timeout=3.0) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as sock,
    ):
        sock.sendall(connect_packet(creds.username, creds.password, "raw-probe"))
        assert sock.recv(4) == CONNACK_ACCEPTED


def test_tls_server_certificate_is_checked_by_the_client(broker: Broker) -> None:
    creds = broker.account("gw-14")
    context = creds.ssl_context()
    with (
        socket.create_connection((broker.host, broker.port), timeout=3.0) as raw,
        pytest.raises(ssl.SSLCertVerificationError, match="match"),
    ):
        context.wrap_socket(raw, server_hostname="broker.example.org")

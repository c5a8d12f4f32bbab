"""A private Mosquitto (the project's TLS, accounts and ACL) for the MQTT link tests.

The link leaves retained availability and state behind, so these tests use a
broker of their own, with gateways no other test area uses. It keeps
persistent sessions across a restart, so a subscriber can sit out an outage.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agent.mqtt_link import LinkSettings
from sim.broker import Broker, BrokerClient

TENANT = "botkyrka"
LINK_GATEWAYS = tuple(f"gw-link-{i:02d}" for i in range(1, 22))


@pytest.fixture(scope="module")
def link_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    broker = Broker(tmp_path_factory.mktemp("link-broker"), debug=True, persistence=True)
    broker.add_gateways(TENANT, LINK_GATEWAYS)
    broker.add_central([TENANT], "central")
    atexit.register(broker.stop)
    try:
        yield broker.start()
    finally:
        broker.stop()


def settings_for(broker: Broker, gateway: str, **changes: Any) -> LinkSettings:
    """Link settings of ``gateway``'s account, with fast reconnects for tests."""
    creds = broker.account(gateway)
    base = LinkSettings(
        host=broker.host,
        port=broker.port,
        tenant=TENANT,
        gateway=gateway,
        username=creds.username,
        password=creds.password,
        ca_file=creds.cafile,
        cert_file=creds.certfile,
        key_file=creds.keyfile,
        reconnect_min_s=1,
        reconnect_max_s=1,
        keepalive_s=5,
    )
    return replace(base, **changes)


def central(broker: Broker, gateway: str, client_id: str | None = None) -> BrokerClient:
    """The central account subscribed to everything of ``gateway``.

    With a ``client_id`` the session is persistent (QoS 1 messages published
    while it is away are kept for it, across a broker restart too).
    """
    options: dict[str, Any] = {}
    if client_id is not None:
        options = {"client_id": client_id, "clean_session": False}
    client = broker.client("central", **options)
    client.subscribe(f"driftvakt/v1/{TENANT}/{gateway}/#")
    return client


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    return tmp_path / "outbox.sqlite3"

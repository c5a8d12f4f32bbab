"""Shared fixtures: one real Mosquitto broker per test module, and clients of it.

The ``broker`` fixture runs the project's own TLS, password and ACL
configuration (sim/broker.py, docs/broker.md) with tenant ``botkyrka``, the
central account ``central`` and gateway accounts ``gw-a``, ``gw-b`` and
``gw-01`` to ``gw-20``. The broker is shared by the tests of one module only
(it starts in milliseconds), so what one module leaves behind (retained
state, central's persistent session) cannot change another module's outcome,
and a failing test cannot make tests elsewhere fail. Within a module, a test
that leaves retained messages behind should use gateways no other test of the
module uses, or clear them (an empty retained payload). A test that must stop or
restart the broker, or needs thousands of accounts, makes its own with
``broker_factory``.

When a test fails, its report gets a "mosquitto log" section with what each
broker logged during that test (debug level: denied publishes show as
``Denied PUBLISH``): the brokers made here, and any other ``Broker`` the test
takes as a fixture, such as a module-scoped one of its own. Type the factory
fixtures with :class:`ConnectClient` and :class:`MakeBroker`.
"""

from __future__ import annotations

import atexit
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from sim.broker import Broker, BrokerClient, BrokerError, find_mosquitto

TENANT = "botkyrka"
CENTRAL = "central"
GATEWAYS = ("gw-a", "gw-b", *(f"gw-{i:02d}" for i in range(1, 21)))

_LOG_LINES = 200
"""Lines of broker log attached to a failing test's report (the last ones)."""

_brokers: list[Broker] = []


class ConnectClient(Protocol):
    """Type of the ``broker_client`` fixture."""

    def __call__(self, name: str, **options: Any) -> BrokerClient: ...


class MakeBroker(Protocol):
    """Type of the ``broker_factory`` fixture."""

    def __call__(
        self, gateways: Iterable[str] = ..., tenant: str = ..., **options: Any
    ) -> Broker: ...


_log_offsets = pytest.StashKey[dict[int, int]]()


def _new_broker(directory: Path, tenant: str, gateways: Iterable[str], **options: Any) -> Broker:
    try:
        find_mosquitto()
    except BrokerError as exc:
        pytest.fail(f"{exc} (the tests need a real Mosquitto broker)", pytrace=False)
    broker = Broker(directory, debug=True, **options)
    broker.add_gateways(tenant, gateways)
    broker.add_central([tenant], CENTRAL)
    _brokers.append(broker)
    atexit.register(broker.stop)  # even if pytest itself is torn down abruptly
    return broker


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """The module's running broker, with the accounts named in this module's docstring."""
    shared = _new_broker(tmp_path_factory.mktemp("broker"), TENANT, GATEWAYS)
    try:
        yield shared.start()
    finally:
        shared.stop()


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[MakeBroker]:
    """Private brokers for one test: ``broker_factory(gateways=[...], persistence=True)``.

    Each is started before it is returned and stopped after the test.
    """
    made: list[Broker] = []

    def make(
        gateways: Iterable[str] = ("gw-a", "gw-b"), tenant: str = TENANT, **options: Any
    ) -> Broker:
        private = _new_broker(tmp_path / f"broker-{len(made)}", tenant, gateways, **options)
        made.append(private)
        return private.start()

    try:
        yield make
    finally:
        for private in made:
            private.stop()


@pytest.fixture
def broker_client(broker: Broker) -> Iterator[ConnectClient]:
    """Connect clients of the session broker by account name; all are closed after the test.

    ``broker_client("gw-a")`` returns a connected, looping :class:`sim.broker.BrokerClient`;
    keyword options go to :func:`sim.broker_client.make_client` (``protocol``, ``client_id``, ...).
    """
    clients: list[BrokerClient] = []

    def connect(name: str, **options: Any) -> BrokerClient:
        client = broker.client(name, **options)
        clients.append(client)
        return client

    try:
        yield connect
    finally:
        for client in clients:
            client.close()


def _brokers_of(item: pytest.Item) -> list[Broker]:
    """This file's brokers, and any other ``Broker`` fixture the test uses (e.g. module-scoped)."""
    found = {id(b): b for b in _brokers}
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, Broker):
            found.setdefault(id(value), value)
    return list(found.values())


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_log_offsets] = {id(b): b.log_size() for b in _brokers}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    offsets = item.stash.setdefault(_log_offsets, {})
    for broker in _brokers_of(item):
        offsets.setdefault(id(broker), broker.log_size())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        offsets = item.stash.get(_log_offsets, {})
        for broker in _brokers_of(item):
            lines = broker.log_text(since=offsets.get(id(broker), 0)).splitlines()
            if lines:
                title = f"mosquitto log ({broker.directory}) [{report.when}]"
                report.sections.append((title, "\n".join(lines[-_LOG_LINES:])))
    return report

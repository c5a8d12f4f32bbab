"""The broker tests get a broker of their own, per module.

Their subscribers listen on wildcards, so retained messages that other test
areas leave on the session broker (central's availability, incident
summaries) would arrive first and make the tests depend on the order in which
pytest runs the folders. Starting a broker takes a few milliseconds.
"""

from collections.abc import Iterator

import pytest

from sim.broker import Broker
from tests.conftest import GATEWAYS, TENANT, _new_broker


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    own = _new_broker(tmp_path_factory.mktemp("broker"), TENANT, GATEWAYS)
    try:
        yield own.start()
    finally:
        own.stop()

"""Errors of the simulator and the test broker."""

from protocol.errors import DriftvaktError


class BrokerError(DriftvaktError, RuntimeError):
    """The Mosquitto broker could not be configured, started or kept running."""


class BrokerConnectError(DriftvaktError, ConnectionError):
    """A client was refused by the broker or got no CONNACK in time."""


class SimError(DriftvaktError, ValueError):
    """A scenario, clock or fleet setting the simulator cannot use; the message says the fix."""

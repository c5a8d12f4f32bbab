"""Errors of the central service. One root, ``DriftvaktError``; each subclass
also inherits the builtin it resembles, so callers may catch either."""

from __future__ import annotations


class DriftvaktError(Exception):
    """Root of every error Driftvakt raises on purpose."""


class ConfigError(DriftvaktError, ValueError):
    """A configuration file is missing, unreadable or invalid."""


class StoreError(DriftvaktError, RuntimeError):
    """The database cannot be reached or is not in the expected shape."""


class BrokerError(DriftvaktError, ConnectionError):
    """The MQTT broker cannot be reached or refused the connection."""


class DeliveryError(DriftvaktError, RuntimeError):
    """A notification could not be delivered; ``permanent`` says whether a retry may help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class ActionError(DriftvaktError, ValueError):
    """A staff action names something that does not exist or cannot be done now."""

"""Broker addresses as both sides write them in their configs: ``mqtts://host:8883``.

Kept beside the contract so that the agent and the central service read the
same URL the same way (scheme decides TLS, the port defaults by scheme).
"""

from __future__ import annotations

from urllib.parse import urlsplit

BROKER_URL_FIX = "must look like mqtts://broker.example.se:8883 (mqtt:// or mqtts://)"


def check_broker_url(value: str) -> str:
    """Validator body for a config's ``url`` field; raises ``ValueError`` naming the fix."""
    parts = urlsplit(value)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(BROKER_URL_FIX)
    return value


class BrokerAddress:
    """Mixin for a config model with a validated broker ``url`` field."""

    url: str

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)

"""Names and topics of the MQTT v1 contract (docs/protocol.md, "Names").

Topics are built and parsed here only, so that no other module spells a topic
by hand. Parsing is strict: a topic that does not fit the contract is not
guessed at, it is rejected by :func:`protocol.parse`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ROOT = "driftvakt"
VERSION = "v1"
CENTRAL = "_central"
"""The reserved gateway segment of the central service's own topics."""

TENANT_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
GATEWAY_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
DEVICE_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
ID_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}")


class TopicKind(StrEnum):
    """What a topic carries; the value is the topic's suffix after the prefix."""

    AVAILABILITY = "availability"
    STATE = "state"
    EVENTS = "events"
    CMD = "cmd"
    CMD_RESULT = "cmd/result"
    CENTRAL_AVAILABILITY = "_central/availability"
    INCIDENT = "_central/incidents"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic. ``gateway`` is ``None`` on central's own topics."""

    tenant: str
    kind: TopicKind
    gateway: str | None = None
    incident_id: str | None = None

    def __str__(self) -> str:
        if self.kind is TopicKind.CENTRAL_AVAILABILITY:
            return central_availability_topic(self.tenant)
        if self.kind is TopicKind.INCIDENT:
            assert self.incident_id is not None
            return incident_topic(self.tenant, self.incident_id)
        assert self.gateway is not None
        return gateway_topic(self.tenant, self.gateway, self.kind)


def is_tenant(value: str) -> bool:
    return TENANT_RE.fullmatch(value) is not None


def is_gateway(value: str) -> bool:
    return GATEWAY_RE.fullmatch(value) is not None


def prefix(tenant: str, gateway: str) -> str:
    """The prefix ``P`` of one gateway: ``driftvakt/v1/{tenant}/{gateway}``."""
    if not is_tenant(tenant):
        raise ValueError(f"tenant {tenant!r} must match {TENANT_RE.pattern}")
    if not is_gateway(gateway):
        raise ValueError(f"gateway {gateway!r} must match {GATEWAY_RE.pattern}")
    return f"{ROOT}/{VERSION}/{tenant}/{gateway}"


def gateway_topic(tenant: str, gateway: str, kind: TopicKind) -> str:
    if kind in (TopicKind.CENTRAL_AVAILABILITY, TopicKind.INCIDENT):
        raise ValueError(f"{kind.value} is a central topic, not a gateway topic")
    return f"{prefix(tenant, gateway)}/{kind.value}"


def central_availability_topic(tenant: str) -> str:
    if not is_tenant(tenant):
        raise ValueError(f"tenant {tenant!r} must match {TENANT_RE.pattern}")
    return f"{ROOT}/{VERSION}/{tenant}/{TopicKind.CENTRAL_AVAILABILITY.value}"


def incident_topic(tenant: str, incident_id: str) -> str:
    if ID_RE.fullmatch(incident_id) is None:
        raise ValueError(f"incident id {incident_id!r} must match {ID_RE.pattern}")
    return f"{central_availability_topic(tenant).rsplit('/', 1)[0]}/incidents/{incident_id}"


def subscriptions(tenant: str, shared_group: str | None = None) -> list[str]:
    """Topic filters the central service subscribes to for one tenant.

    ``availability`` and ``state`` are always plain subscriptions: brokers send
    no retained messages to shared subscriptions, and a restarted central must
    learn every gateway's last word. ``events`` and ``cmd/result`` may be
    shared between several central processes.
    """
    base = f"{ROOT}/{VERSION}/{tenant}/+"
    shared = f"$share/{shared_group}/" if shared_group else ""
    return [
        f"{base}/availability",
        f"{base}/state",
        f"{shared}{base}/events",
        f"{shared}{base}/cmd/result",
    ]


def parse_topic(topic: str) -> Topic | None:
    """Parse a topic of the contract, or return ``None`` for anything else."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != ROOT or parts[1] != VERSION:
        return None
    tenant, gateway, rest = parts[2], parts[3], parts[4:]
    if not is_tenant(tenant):
        return None
    if gateway == CENTRAL:
        if rest == ["availability"]:
            return Topic(tenant, TopicKind.CENTRAL_AVAILABILITY)
        if len(rest) == 2 and rest[0] == "incidents" and ID_RE.fullmatch(rest[1]):
            return Topic(tenant, TopicKind.INCIDENT, incident_id=rest[1])
        return None
    if not is_gateway(gateway):
        return None
    suffix = "/".join(rest)
    if suffix in _GATEWAY_SUFFIXES:
        return Topic(tenant, TopicKind(suffix), gateway=gateway)
    return None


_GATEWAY_SUFFIXES = frozenset(
    k.value for k in TopicKind if k not in (TopicKind.CENTRAL_AVAILABILITY, TopicKind.INCIDENT)
)

"""The contract's words: enums, limits and the time format (docs/protocol.md).

Stdlib only, so the agent can speak the contract without pydantic (its peak RSS
on the Pi is capped: see docs/protocol.md, "The agent's side is stdlib-only").
:mod:`protocol.models` builds the pydantic models on these same definitions,
so both sides agree on every name and on how a time is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

MAX_PAYLOAD = 8 * 1024
"""Bytes. A larger payload is rejected whatever its topic."""


def utc(value: datetime) -> datetime:
    """``value`` in UTC; a time without an offset is refused, never read as local time.

    :raises ValueError: no offset, or the time leaves the representable range when
        moved to UTC (``9999-12-31T23:59:59-01:00``).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("time must be RFC 3339 with an offset, e.g. 2027-03-09T09:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is out of range in UTC") from None


def format_time(value: datetime) -> str:
    """RFC 3339 UTC with ``Z`` and at most millisecond precision.

    ``isoformat`` rather than ``strftime("%Y")``, which drops the zero padding of
    years before 1000 on glibc and would write a time no reader accepts.
    """
    value = utc(value)
    text = value.replace(tzinfo=None, microsecond=0).isoformat()
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


class RejectReason(StrEnum):
    """Why a message was rejected; also the label of the reject counters."""

    TOO_LARGE = "too_large"
    BAD_TOPIC = "bad_topic"
    BAD_ENCODING = "bad_encoding"
    BAD_JSON = "bad_json"
    BAD_VERSION = "bad_version"
    BAD_PAYLOAD = "bad_payload"


class Availability(StrEnum):
    """Plain-text payload of ``availability`` topics."""

    ONLINE = "online"
    OFFLINE = "offline"

    def to_payload(self) -> bytes:
        return self.value.encode()


class Health(StrEnum):
    """A device's health as the agent sees it (docs/protocol.md, "State snapshot")."""

    UP = "up"
    DOWN = "down"
    UNREACHABLE = "unreachable"
    """Cannot be probed because something it depends on (the router) is down."""
    RESTARTING = "restarting"
    FAILED = "failed"
    """Automatic restart is exhausted: people are needed."""
    UNKNOWN = "unknown"


class EventType(StrEnum):
    AGENT_STARTED = "agent_started"
    AGENT_STOPPING = "agent_stopping"
    DEVICE_UP = "device_up"
    DEVICE_DOWN = "device_down"
    DEVICE_UNREACHABLE = "device_unreachable"
    RESTART_STARTED = "restart_started"
    RESTART_SUCCEEDED = "restart_succeeded"
    RESTART_FAILED = "restart_failed"
    RESTART_EXHAUSTED = "restart_exhausted"
    COMMAND_REJECTED = "command_rejected"
    RELAY_FAULT = "relay_fault"


KNOWN_EVENT_TYPES = frozenset(t.value for t in EventType)


class CommandType(StrEnum):
    POWER_CYCLE = "power_cycle"
    PROBE_NOW = "probe_now"


class IncidentKind(StrEnum):
    SINGLE = "single"
    EXTENSIVE = "extensive"
    INFRASTRUCTURE = "infrastructure"

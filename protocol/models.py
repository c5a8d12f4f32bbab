"""Payload models of the MQTT v1 contract (docs/protocol.md).

Readers ignore unknown fields (``extra="ignore"``) so that a newer agent can
add a field without breaking an older central, and vice versa; anything a
field does carry is validated strictly. Times must carry an offset and are
normalised to UTC; they serialise as RFC 3339 with ``Z``.

The agent does not import this module: it writes and reads its messages with
the stdlib twins in :mod:`protocol.encode` and :mod:`protocol.command`, which
the tests prove byte for byte equal to these models (docs/protocol.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from protocol.names import DEVICE_RE, GATEWAY_RE, ID_RE
from protocol.vocab import (
    KNOWN_EVENT_TYPES,
    MAX_PAYLOAD,
    Availability,
    CommandType,
    EventType,
    Health,
    IncidentKind,
    format_time,
    utc,
)

# The vocabulary lives in protocol.vocab (stdlib only, for the agent) and is re-exported here.
__all__ = [
    "KNOWN_EVENT_TYPES",
    "MAX_PAYLOAD",
    "Availability",
    "Command",
    "CommandResult",
    "CommandType",
    "DeviceState",
    "Event",
    "EventType",
    "Health",
    "IncidentKind",
    "IncidentSummary",
    "StateSnapshot",
    "format_time",
]


UtcTime = Annotated[
    datetime,
    AfterValidator(utc),
    PlainSerializer(format_time, return_type=str, when_used="json"),
]
MessageId = Annotated[str, Field(pattern=f"^{ID_RE.pattern}$")]
Version = Annotated[int, Field(strict=True, ge=1, le=1)]
"""Exactly the integer 1, strictly: ``true``, ``1.0`` and ``"1"`` are not version 1."""
DeviceName = Annotated[str, Field(pattern=f"^{DEVICE_RE.pattern}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_payload(self) -> bytes:
        """The wire form: compact JSON, UTF-8."""
        return self.model_dump_json(exclude_none=True).encode()


class DeviceState(_Model):
    health: Health
    since: UtcTime
    rtt_ms: Annotated[float, Field(ge=0)] | None = None
    restarts_24h: Annotated[int, Field(ge=0)] = 0
    auto_restart: bool = True
    """False where the device has no working relay."""


class StateSnapshot(_Model):
    v: Version
    ts: UtcTime
    boot: MessageId
    seq: Annotated[int, Field(ge=0)]
    agent: Annotated[str, Field(max_length=64)]
    uptime_s: Annotated[int, Field(ge=0)]
    heartbeat_s: Annotated[int, Field(ge=1, le=3600)]
    time_synced: bool | None = None
    devices: dict[DeviceName, DeviceState]


class Event(_Model):
    """One event. ``type`` stays a string: readers ignore unknown types
    (counting them) instead of rejecting a newer agent's message."""

    v: Version
    id: MessageId
    ts: UtcTime
    boot: MessageId
    seq: Annotated[int, Field(ge=0)]
    type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    device: DeviceName | None = None
    detail: dict[str, Any] = Field(default_factory=dict)

    @property
    def known(self) -> bool:
        return self.type in KNOWN_EVENT_TYPES


class Command(_Model):
    v: Version
    id: MessageId
    ts: UtcTime
    type: CommandType
    device: Annotated[str, Field(pattern=r"^(all|" + DEVICE_RE.pattern + r")$")]
    by: Annotated[str, Field(min_length=1, max_length=64)]
    expires: UtcTime

    def expired(self, now: datetime) -> bool:
        return utc(now) >= self.expires


class CommandResult(_Model):
    v: Version
    id: MessageId
    """The id of the command this answers."""
    ts: UtcTime
    ok: bool
    detail: Annotated[str, Field(max_length=1024)] = ""


class IncidentSummary(_Model):
    """Retained summary of an open incident. Carries no labels: no personal data on MQTT."""

    v: Version
    id: MessageId
    kind: IncidentKind
    gateways: list[Annotated[str, Field(pattern=f"^{GATEWAY_RE.pattern}$")]]
    opened: UtcTime
    updated: UtcTime
    owner_role: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    open_tasks: Annotated[int, Field(ge=0)]

"""The MQTT v1 contract between gateway agents and the central service.

Both sides import this package and nothing else of each other; it depends on
pydantic only, so the agent stays light. See docs/protocol.md.
"""

from protocol.ids import new_id
from protocol.models import (
    KNOWN_EVENT_TYPES,
    MAX_PAYLOAD,
    Availability,
    Command,
    CommandResult,
    CommandType,
    DeviceState,
    Event,
    EventType,
    Health,
    IncidentKind,
    IncidentSummary,
    StateSnapshot,
    format_time,
)
from protocol.names import (
    CENTRAL,
    Topic,
    TopicKind,
    central_availability_topic,
    gateway_topic,
    incident_topic,
    is_gateway,
    is_tenant,
    parse_topic,
    prefix,
    subscriptions,
)
from protocol.parse import Message, Rejected, RejectReason, parse

__all__ = [
    "CENTRAL",
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
    "Message",
    "RejectReason",
    "Rejected",
    "StateSnapshot",
    "Topic",
    "TopicKind",
    "central_availability_topic",
    "format_time",
    "gateway_topic",
    "incident_topic",
    "is_gateway",
    "is_tenant",
    "new_id",
    "parse",
    "parse_topic",
    "prefix",
    "subscriptions",
]

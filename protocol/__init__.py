"""The MQTT v1 contract between gateway agents and the central service.

Both sides import this package and nothing else of each other. Importing it
costs no pydantic: the agent, whose peak RSS on the Pi is capped, writes and
reads its messages with the stdlib modules (:mod:`protocol.vocab`,
:mod:`protocol.encode`, :mod:`protocol.command`). The pydantic models and
:func:`parse`, which central uses, load on first access (PEP 562). See
docs/protocol.md.

The reader lives in :mod:`protocol.parsing`, not ``protocol/parse.py``: a
submodule named ``parse`` would, once imported by anyone, replace the lazily
loaded :func:`parse` function on this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from protocol.command import ReceivedCommand, read_command
from protocol.encode import DeviceReport, event_payload, result_payload, state_payload
from protocol.ids import new_id
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
from protocol.vocab import (
    KNOWN_EVENT_TYPES,
    MAX_PAYLOAD,
    Availability,
    CommandType,
    EventType,
    Health,
    IncidentKind,
    RejectReason,
    format_time,
)

if TYPE_CHECKING:
    from protocol.models import (
        Command,
        CommandResult,
        DeviceState,
        Event,
        IncidentSummary,
        StateSnapshot,
    )
    from protocol.parsing import Message, Rejected, parse

_LAZY = {
    "Command": "protocol.models",
    "CommandResult": "protocol.models",
    "DeviceState": "protocol.models",
    "Event": "protocol.models",
    "IncidentSummary": "protocol.models",
    "StateSnapshot": "protocol.models",
    "Message": "protocol.parsing",
    "Rejected": "protocol.parsing",
    "parse": "protocol.parsing",
}
"""The pydantic-backed names, and the module that defines each."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


__all__ = [
    "CENTRAL",
    "KNOWN_EVENT_TYPES",
    "MAX_PAYLOAD",
    "Availability",
    "Command",
    "CommandResult",
    "CommandType",
    "DeviceReport",
    "DeviceState",
    "Event",
    "EventType",
    "Health",
    "IncidentKind",
    "IncidentSummary",
    "Message",
    "ReceivedCommand",
    "RejectReason",
    "Rejected",
    "StateSnapshot",
    "Topic",
    "TopicKind",
    "central_availability_topic",
    "event_payload",
    "format_time",
    "gateway_topic",
    "incident_topic",
    "is_gateway",
    "is_tenant",
    "new_id",
    "parse",
    "parse_topic",
    "prefix",
    "read_command",
    "result_payload",
    "state_payload",
    "subscriptions",
]

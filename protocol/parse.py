"""The one entry point for readers: :func:`parse` turns (topic, payload) into a
typed :class:`Message` or a :class:`Rejected` value, and never raises on bad
input (docs/protocol.md, "Limits and bad input")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ValidationError

from protocol.models import (
    MAX_PAYLOAD,
    Availability,
    Command,
    CommandResult,
    Event,
    IncidentSummary,
    StateSnapshot,
)
from protocol.names import Topic, TopicKind, parse_topic

Body = Availability | StateSnapshot | Event | Command | CommandResult | IncidentSummary | None


class RejectReason(StrEnum):
    """Why a message was rejected; also the label of the reject counters."""

    TOO_LARGE = "too_large"
    BAD_TOPIC = "bad_topic"
    BAD_ENCODING = "bad_encoding"
    BAD_JSON = "bad_json"
    BAD_VERSION = "bad_version"
    BAD_PAYLOAD = "bad_payload"


@dataclass(frozen=True, slots=True)
class Message:
    """A valid message. ``body`` is ``None`` only for a closed incident
    (an empty retained payload on an incident topic)."""

    topic: Topic
    body: Body


@dataclass(frozen=True, slots=True)
class Rejected:
    """A rejected message, with enough to count and log it once per gateway and reason."""

    reason: RejectReason
    detail: str
    topic: str
    tenant: str | None = None
    gateway: str | None = None


_JSON_MODELS: dict[TopicKind, type[BaseModel]] = {
    TopicKind.STATE: StateSnapshot,
    TopicKind.EVENTS: Event,
    TopicKind.CMD: Command,
    TopicKind.CMD_RESULT: CommandResult,
    TopicKind.INCIDENT: IncidentSummary,
}


def parse(topic: str, payload: bytes) -> Message | Rejected:
    """Parse one MQTT message of the v1 contract.

    :param str topic: the topic it arrived on.
    :param bytes payload: the raw payload, at most 8 KiB.
    :returns: a :class:`Message`, or a :class:`Rejected` naming the reason.
    """
    if not isinstance(topic, str):
        return Rejected(RejectReason.BAD_TOPIC, "topic is not a string", repr(topic))
    if not isinstance(payload, bytes | bytearray | memoryview):
        return Rejected(RejectReason.BAD_PAYLOAD, "payload is not bytes", topic)
    parsed = parse_topic(topic)
    if parsed is None:
        return Rejected(RejectReason.BAD_TOPIC, "topic is not part of the v1 contract", topic)
    tenant, gateway = parsed.tenant, parsed.gateway
    if len(payload) > MAX_PAYLOAD:
        detail = f"payload is {len(payload)} bytes, the limit is {MAX_PAYLOAD}"
        return Rejected(RejectReason.TOO_LARGE, detail, topic, tenant, gateway)
    if parsed.kind in (TopicKind.AVAILABILITY, TopicKind.CENTRAL_AVAILABILITY):
        return _availability(parsed, bytes(payload), topic)
    if parsed.kind is TopicKind.INCIDENT and len(payload) == 0:
        return Message(parsed, None)
    return _json(parsed, bytes(payload), topic)


def _availability(parsed: Topic, payload: bytes, topic: str) -> Message | Rejected:
    try:
        return Message(parsed, Availability(payload.decode("ascii").strip()))
    except (UnicodeDecodeError, ValueError):
        return Rejected(
            RejectReason.BAD_PAYLOAD,
            "availability must be 'online' or 'offline'",
            topic,
            parsed.tenant,
            parsed.gateway,
        )


def _json(parsed: Topic, payload: bytes, topic: str) -> Message | Rejected:
    def rejected(reason: RejectReason, detail: str) -> Rejected:
        return Rejected(reason, detail, topic, parsed.tenant, parsed.gateway)

    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return rejected(RejectReason.BAD_ENCODING, "payload is not UTF-8")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return rejected(RejectReason.BAD_JSON, "payload is not valid JSON")
    if not isinstance(data, dict):
        return rejected(RejectReason.BAD_PAYLOAD, "payload must be a JSON object")
    version = data.get("v")
    if type(version) is not int or version != 1:
        return rejected(RejectReason.BAD_VERSION, f"'v' must be 1, got {version!r}"[:200])
    try:
        body = _JSON_MODELS[parsed.kind].model_validate(data)
    except ValidationError as exc:
        return rejected(RejectReason.BAD_PAYLOAD, _summary(exc))
    assert isinstance(body, StateSnapshot | Event | Command | CommandResult | IncidentSummary)
    return Message(parsed, body)


def _summary(exc: ValidationError) -> str:
    """First error as ``field.path: message``, short enough for one log line."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    return f"{where}: {first['msg']}"[:200]

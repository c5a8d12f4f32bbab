"""The one entry point for readers: :func:`parse` turns (topic, payload) into a
typed :class:`Message` or a :class:`Rejected` value, and never raises on bad
input (docs/protocol.md, "Limits and bad input")."""

from __future__ import annotations

from dataclasses import dataclass

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
from protocol.vocab import RejectReason

__all__ = ["Body", "Message", "RejectReason", "Rejected", "parse"]

Body = Availability | StateSnapshot | Event | Command | CommandResult | IncidentSummary | None


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
    """Validate straight from bytes (pydantic's own JSON parser, about twice as
    fast as ``json.loads`` plus validation); the reason is worked out from the
    errors only when validation fails, so valid messages pay nothing for it."""
    try:
        body = _JSON_MODELS[parsed.kind].model_validate_json(payload)
    except ValidationError as exc:
        reason, detail = _classify(exc, payload)
        return Rejected(reason, detail, topic, parsed.tenant, parsed.gateway)
    assert isinstance(body, StateSnapshot | Event | Command | CommandResult | IncidentSummary)
    return Message(parsed, body)


def _classify(exc: ValidationError, payload: bytes) -> tuple[RejectReason, str]:
    errors = exc.errors(include_url=False)
    first = errors[0]
    if first["type"] == "json_invalid":
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            return RejectReason.BAD_ENCODING, "payload is not UTF-8"
        return RejectReason.BAD_JSON, "payload is not valid JSON"
    if first["type"] == "model_type":
        return RejectReason.BAD_PAYLOAD, "payload must be a JSON object"
    for error in errors:
        if error["loc"] == ("v",):
            got = error["input"] if error["type"] != "missing" else None
            return RejectReason.BAD_VERSION, f"'v' must be 1, got {got!r}"[:200]
    return RejectReason.BAD_PAYLOAD, _summary(exc)


def _summary(exc: ValidationError) -> str:
    """First error as ``field.path: message``, short enough for one log line."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    return f"{where}: {first['msg']}"[:200]

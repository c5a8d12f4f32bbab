import json
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from protocol import (
    MAX_PAYLOAD,
    Availability,
    Event,
    Health,
    Message,
    Rejected,
    RejectReason,
    TopicKind,
    central_availability_topic,
    format_time,
    gateway_topic,
    incident_topic,
    parse,
)
from tests.protocol.samples import COMMAND, EVENT, INCIDENT, RESULT, STATE

GW = ("botkyrka", "gw-0042")


def _topic(kind: TopicKind) -> str:
    return gateway_topic(*GW, kind)


@pytest.mark.parametrize(
    ("kind", "model"),
    [
        (TopicKind.STATE, STATE),
        (TopicKind.EVENTS, EVENT),
        (TopicKind.CMD, COMMAND),
        (TopicKind.CMD_RESULT, RESULT),
    ],
)
def test_parse_round_trips_every_gateway_message(kind: TopicKind, model: BaseModel) -> None:
    msg = parse(_topic(kind), model.to_payload())  # type: ignore[attr-defined]
    assert isinstance(msg, Message)
    assert msg.body == model
    assert msg.topic.gateway == "gw-0042"
    assert msg.topic.kind is kind


def test_parse_round_trips_the_incident_summary_and_its_closing() -> None:
    topic = incident_topic("botkyrka", INCIDENT.id)
    opened = parse(topic, INCIDENT.to_payload())
    assert isinstance(opened, Message)
    assert opened.body == INCIDENT
    closed = parse(topic, b"")
    assert closed == Message(opened.topic, None)


@pytest.mark.parametrize("value", [Availability.ONLINE, Availability.OFFLINE])
def test_parse_round_trips_availability_of_gateways_and_central(value: Availability) -> None:
    for topic in (_topic(TopicKind.AVAILABILITY), central_availability_topic("botkyrka")):
        msg = parse(topic, value.to_payload())
        assert isinstance(msg, Message)
        assert msg.body is value


def test_times_serialise_as_utc_with_z() -> None:
    data = json.loads(STATE.to_payload())
    assert data["ts"] == "2027-03-09T09:00:00Z"
    assert data["devices"]["camera"]["since"] == "2027-03-09T09:00:00Z"


def test_times_with_an_offset_are_normalised_to_utc() -> None:
    data = json.loads(EVENT.to_payload())
    data["ts"] = "2027-03-09T10:00:00+01:00"
    msg = parse(_topic(TopicKind.EVENTS), json.dumps(data).encode())
    assert isinstance(msg, Message)
    assert isinstance(msg.body, Event)
    assert msg.body.ts == EVENT.ts
    assert json.loads(msg.body.to_payload())["ts"] == "2027-03-09T09:00:00Z"


def test_unknown_fields_are_ignored_and_unknown_event_types_kept_but_flagged() -> None:
    data = json.loads(EVENT.to_payload())
    data["type"] = "battery_low"
    data["future_field"] = {"x": 1}
    msg = parse(_topic(TopicKind.EVENTS), json.dumps(data).encode())
    assert isinstance(msg, Message)
    assert isinstance(msg.body, Event)
    assert msg.body.type == "battery_low"
    assert not msg.body.known
    assert EVENT.known


def test_device_health_defaults_match_the_contract() -> None:
    data = json.loads(STATE.to_payload())
    del data["devices"]["camera"]["auto_restart"]
    del data["time_synced"]
    msg = parse(_topic(TopicKind.STATE), json.dumps(data).encode())
    assert isinstance(msg, Message)
    body = msg.body
    assert body is not None and not isinstance(body, Availability)
    assert body.devices["camera"].auto_restart is True  # type: ignore[union-attr]
    assert body.devices["camera"].health is Health.FAILED  # type: ignore[union-attr]
    assert body.time_synced is None  # type: ignore[union-attr]


def test_command_expiry_is_judged_on_the_given_clock() -> None:
    assert not COMMAND.expired(COMMAND.ts)
    assert COMMAND.expired(COMMAND.expires)


def _mutated(model: BaseModel, **changes: object) -> bytes:
    data = json.loads(model.to_payload())  # type: ignore[attr-defined]
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "detail"),
    [
        # Over 8 KiB, whatever the content.
        (_topic(TopicKind.STATE), b"{" + b" " * MAX_PAYLOAD + b"}", RejectReason.TOO_LARGE, "8192"),
        (_topic(TopicKind.AVAILABILITY), b"online" * 2000, RejectReason.TOO_LARGE, "limit"),
        # Invalid JSON and encodings.
        (_topic(TopicKind.STATE), b'{"v": 1,', RejectReason.BAD_JSON, "not valid JSON"),
        (_topic(TopicKind.EVENTS), b"\xff\xfe{}", RejectReason.BAD_ENCODING, "UTF-8"),
        (_topic(TopicKind.EVENTS), b"[" * 5000 + b"]" * 5000, RejectReason.TOO_LARGE, "limit"),
        (_topic(TopicKind.EVENTS), b"[" * 4000 + b"]" * 4000, RejectReason.BAD_JSON, "JSON"),
        # Wrong version: missing, another number, a string, a bool, a float.
        (_topic(TopicKind.STATE), _mutated(STATE, v=...), RejectReason.BAD_VERSION, "None"),
        (_topic(TopicKind.STATE), _mutated(STATE, v=2), RejectReason.BAD_VERSION, "got 2"),
        (_topic(TopicKind.EVENTS), _mutated(EVENT, v="1"), RejectReason.BAD_VERSION, "'1'"),
        (_topic(TopicKind.EVENTS), _mutated(EVENT, v=True), RejectReason.BAD_VERSION, "True"),
        (_topic(TopicKind.CMD), _mutated(COMMAND, v=1.0), RejectReason.BAD_VERSION, "1.0"),
        # A payload that does not fit its topic.
        (
            _topic(TopicKind.STATE),
            EVENT.to_payload(),
            RejectReason.BAD_PAYLOAD,
            "agent: Field required",
        ),
        (_topic(TopicKind.EVENTS), STATE.to_payload(), RejectReason.BAD_PAYLOAD, "id"),
        (_topic(TopicKind.CMD), RESULT.to_payload(), RejectReason.BAD_PAYLOAD, "type"),
        (_topic(TopicKind.STATE), b"[1, 2]", RejectReason.BAD_PAYLOAD, "JSON object"),
        (_topic(TopicKind.STATE), b'"online"', RejectReason.BAD_PAYLOAD, "JSON object"),
        (_topic(TopicKind.AVAILABILITY), b"maybe", RejectReason.BAD_PAYLOAD, "online"),
        (_topic(TopicKind.AVAILABILITY), b"\xff", RejectReason.BAD_PAYLOAD, "online"),
        (_topic(TopicKind.AVAILABILITY), STATE.to_payload(), RejectReason.BAD_PAYLOAD, "online"),
        (
            incident_topic("botkyrka", "01JINC"),
            _mutated(INCIDENT, kind="regional"),
            RejectReason.BAD_PAYLOAD,
            "kind",
        ),
        # Field rules.
        (
            _topic(TopicKind.EVENTS),
            _mutated(EVENT, ts="2027-03-09T09:00:00"),
            RejectReason.BAD_PAYLOAD,
            "offset",
        ),
        (_topic(TopicKind.EVENTS), _mutated(EVENT, ts="yesterday"), RejectReason.BAD_PAYLOAD, "ts"),
        (_topic(TopicKind.EVENTS), _mutated(EVENT, seq=-1), RejectReason.BAD_PAYLOAD, "seq"),
        (_topic(TopicKind.EVENTS), _mutated(EVENT, id="a b"), RejectReason.BAD_PAYLOAD, "id"),
        (_topic(TopicKind.EVENTS), _mutated(EVENT, type="Bad Type"), RejectReason.BAD_PAYLOAD, ""),
        (_topic(TopicKind.CMD), _mutated(COMMAND, type="reboot"), RejectReason.BAD_PAYLOAD, "type"),
        (_topic(TopicKind.CMD), _mutated(COMMAND, device="ALL"), RejectReason.BAD_PAYLOAD, "dev"),
        (
            _topic(TopicKind.STATE),
            _mutated(
                STATE, devices={"camera": {"health": "sleepy", "since": "2027-03-09T09:00:00Z"}}
            ),
            RejectReason.BAD_PAYLOAD,
            "health",
        ),
        # Topics outside the contract.
        ("driftvakt/v1/botkyrka/gw-0042/status", b"{}", RejectReason.BAD_TOPIC, "v1 contract"),
        ("driftvakt/v2/botkyrka/gw-0042/state", STATE.to_payload(), RejectReason.BAD_TOPIC, ""),
        ("driftvakt/v1/botkyrka/_evil/state", STATE.to_payload(), RejectReason.BAD_TOPIC, ""),
        ("homeassistant/status", b"online", RejectReason.BAD_TOPIC, ""),
    ],
)
def test_parse_rejects_bad_input_with_its_reason(
    topic: str, payload: bytes, reason: RejectReason, detail: str
) -> None:
    result = parse(topic, payload)
    assert isinstance(result, Rejected)
    assert result.reason is reason
    assert detail in result.detail
    assert result.topic == topic


def test_rejections_name_the_gateway_so_they_can_be_logged_once_per_gateway() -> None:
    result = parse(_topic(TopicKind.STATE), b"nope")
    assert isinstance(result, Rejected)
    assert (result.tenant, result.gateway) == GW
    bad_topic = parse("driftvakt/v1/botkyrka/gw-0042/nope", b"nope")
    assert isinstance(bad_topic, Rejected)
    assert bad_topic.gateway is None


def test_parse_rejects_non_bytes_without_raising() -> None:
    assert isinstance(parse(_topic(TopicKind.STATE), "text"), Rejected)  # type: ignore[arg-type]
    assert isinstance(parse(None, b"{}"), Rejected)  # type: ignore[arg-type]


def test_a_time_that_leaves_the_datetime_range_in_utc_is_rejected_not_raised() -> None:
    data = json.loads(EVENT.to_payload())
    data["ts"] = "9999-12-31T23:59:59-01:00"
    rejected = parse(_topic(TopicKind.EVENTS), json.dumps(data).encode())
    assert isinstance(rejected, Rejected)
    assert rejected.reason is RejectReason.BAD_PAYLOAD
    assert "time is out of range in UTC" in rejected.detail


def test_format_time_pads_years_before_1000() -> None:
    assert format_time(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0999-01-02T03:04:05Z"

"""protocol.encode writes the bytes the pydantic models write, and refuses what central rejects.

Differential: for generated valid values, ``event_payload``/``state_payload``/
``result_payload`` equal the models' ``to_payload()`` byte for byte, and
``protocol.parse`` reads them back as an equal model. A payload over 8 KiB is
the one place they part: the models write it, the encoder refuses it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    MAX_PAYLOAD,
    CommandResult,
    DeviceReport,
    DeviceState,
    Event,
    EventType,
    Health,
    Message,
    StateSnapshot,
    TopicKind,
    event_payload,
    gateway_topic,
    parse,
    result_payload,
    state_payload,
)
from protocol.errors import Unencodable
from protocol.names import DEVICE_RE, ID_RE
from tests.protocol.samples import BOOT, EVENT, RESULT, STATE, T0

GW = ("botkyrka", "gw-0042")

_IDS = st.from_regex(ID_RE, fullmatch=True)
_DEVICES = st.from_regex(DEVICE_RE, fullmatch=True)
_OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
_TIMES = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=_OFFSETS
).map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
"""Aware, off UTC, and to the millisecond: what survives the wire unchanged."""
_COUNTS = st.integers(min_value=0, max_value=2**63)
_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _FLOATS | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_REPORTS = st.builds(
    DeviceReport,
    health=st.sampled_from(Health),
    since=_TIMES,
    rtt_ms=st.none() | st.floats(min_value=0, allow_infinity=False) | st.integers(0, 10**6),
    restarts_24h=_COUNTS,
    auto_restart=st.booleans(),
)


def _same_bytes_or_refused(mine: Any, model: Any, kind: TopicKind) -> None:
    """Equal to the model's bytes and read back as the model, or refused for size only."""
    expected = model.to_payload()
    if len(expected) > MAX_PAYLOAD:
        assert isinstance(mine, Unencodable)
        return
    assert mine == expected
    message = parse(gateway_topic(*GW, kind), mine)
    assert isinstance(message, Message)
    assert message.body == model


def _call(write: Any, **values: Any) -> bytes | Unencodable:
    try:
        return bytes(write(**values))
    except Unencodable as exc:
        return exc


@settings(max_examples=400, deadline=None)
@given(
    id=_IDS,
    ts=_TIMES,
    boot=_IDS,
    seq=_COUNTS,
    type=st.sampled_from(EventType) | st.from_regex(r"[a-z][a-z0-9_]{0,63}", fullmatch=True),
    device=st.none() | _DEVICES,
    detail=st.dictionaries(st.text(), _JSON, max_size=5),
)
def test_event_payload_is_the_models_bytes(**values: Any) -> None:
    mine = _call(event_payload, **values)
    _same_bytes_or_refused(mine, Event(v=1, **values), TopicKind.EVENTS)


@settings(max_examples=300, deadline=None)
@given(
    ts=_TIMES,
    boot=_IDS,
    seq=_COUNTS,
    agent=st.text(max_size=64),
    uptime_s=_COUNTS,
    heartbeat_s=st.integers(1, 3600),
    time_synced=st.none() | st.booleans(),
    devices=st.dictionaries(_DEVICES, _REPORTS, max_size=4),
)
def test_state_payload_is_the_models_bytes(devices: dict[str, DeviceReport], **values: Any) -> None:
    mine = _call(state_payload, devices=devices, **values)
    states = {name: DeviceState(**_fields(report)) for name, report in devices.items()}
    _same_bytes_or_refused(mine, StateSnapshot(v=1, devices=states, **values), TopicKind.STATE)


@settings(max_examples=300, deadline=None)
@given(id=_IDS, ts=_TIMES, ok=st.booleans(), detail=st.text(max_size=1024))
def test_result_payload_is_the_models_bytes(**values: Any) -> None:
    mine = _call(result_payload, **values)
    _same_bytes_or_refused(mine, CommandResult(v=1, **values), TopicKind.CMD_RESULT)


def _fields(report: DeviceReport) -> dict[str, Any]:
    return {name: getattr(report, name) for name in DeviceReport.__dataclass_fields__}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.4, "1.4"),
        (0.0001, "0.0001"),
        (1e-5, "0.00001"),
        (-1.5e-5, "-0.000015"),
        (1e-6, "1e-6"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e+16"),
        (-0.0, "-0.0"),
    ],
)
def test_event_payload_writes_floats_as_pydantic_does(value: float, text: str) -> None:
    """Where ``json.dumps`` and pydantic differ (small numbers), the encoder follows pydantic."""
    mine = event_payload(id="e1", ts=T0, boot=BOOT, seq=0, type="x", detail={"f": value})
    model = Event(v=1, id="e1", ts=T0, boot=BOOT, seq=0, type="x", detail={"f": value})
    assert mine == model.to_payload()
    assert mine.endswith(b'{"f":' + text.encode() + b"}}")


def test_encoders_match_the_sample_messages() -> None:
    devices = {name: DeviceReport(**dict(state)) for name, state in STATE.devices.items()}
    snapshot = {k: getattr(STATE, k) for k in ("ts", "boot", "seq", "agent", "uptime_s")}
    state = state_payload(
        **snapshot, heartbeat_s=30, time_synced=STATE.time_synced, devices=devices
    )
    assert state == STATE.to_payload()
    event = {k: getattr(EVENT, k) for k in ("id", "ts", "boot", "seq", "type", "device", "detail")}
    assert event_payload(**event) == EVENT.to_payload()
    assert result_payload(id=RESULT.id, ts=RESULT.ts, ok=False, detail=RESULT.detail) == (
        RESULT.to_payload()
    )


_EVENT = {"id": "e1", "ts": T0, "boot": BOOT, "seq": 1, "type": "device_up"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seq": -1}, "seq must be an int >= 0, got -1"),
        ({"seq": True}, "seq must be an int >= 0, got True"),
        ({"id": "bad id"}, "id must be a match of"),
        ({"boot": ""}, "boot must be a match of"),
        ({"type": "Device-Up"}, "type must be a match of"),
        ({"device": "camera/../x"}, "device must be a match of"),
        ({"ts": datetime(2027, 3, 9)}, "ts: time must be RFC 3339 with an offset"),
        ({"ts": "2027-03-09T00:00:00Z"}, "ts must be an aware datetime"),
        ({"detail": {"at": T0}}, "datetime is not a JSON value"),
        ({"detail": {"n": float("nan")}}, "nan has no JSON form"),
        ({"detail": {"m": {1: "x"}}}, "JSON object keys must be strings"),
        ({"detail": {"x": "é" * 5000}}, "payload is 10"),
    ],
)
def test_event_payload_refuses(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(Unencodable) as caught:
        event_payload(**{**_EVENT, **changes})
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"uptime_s": -5}, "uptime_s must be an int >= 0, got -5"),
        ({"heartbeat_s": 0}, "heartbeat_s must be 1 to 3600, got 0"),
        ({"heartbeat_s": 3601}, "heartbeat_s must be 1 to 3600, got 3601"),
        ({"agent": "v" * 65}, "agent must be a text of at most 64 characters"),
        ({"time_synced": 1}, "time_synced must be a bool or None, got 1"),
        ({"devices": {"Camera": None}}, "devices must be a match of"),
        ({"devices": {"camera": {"health": "up"}}}, "camera must be a DeviceReport"),
    ],
)
def test_state_payload_refuses(changes: dict[str, Any], message: str) -> None:
    values = {"ts": T0, "boot": BOOT, "seq": 0, "agent": "1", "uptime_s": 0, "heartbeat_s": 30}
    with pytest.raises(Unencodable) as caught:
        state_payload(**{"devices": {}, **values, **changes})
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"health": "up"}, "health must be a Health, got 'up'"),
        ({"since": datetime(2027, 3, 9)}, "since: time must be RFC 3339 with an offset"),
        ({"rtt_ms": -0.5}, "rtt_ms must be a finite number >= 0, got -0.5"),
        ({"rtt_ms": float("inf")}, "rtt_ms must be a finite number >= 0, got inf"),
        ({"rtt_ms": True}, "rtt_ms must be a finite number >= 0, got True"),
        ({"restarts_24h": -1}, "restarts_24h must be an int >= 0, got -1"),
        ({"auto_restart": None}, "auto_restart must be a bool, got None"),
    ],
)
def test_device_report_refuses(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(Unencodable) as caught:
        DeviceReport(**{"health": Health.UP, "since": T0, **changes})
    assert str(caught.value).startswith(message)


def test_result_payload_refuses_detail_over_1024_characters() -> None:
    assert result_payload(id="c1", ts=T0, ok=True, detail="x" * 1024)
    with pytest.raises(Unencodable, match="detail must be a text of at most 1024 characters"):
        result_payload(id="c1", ts=T0, ok=True, detail="x" * 1025)


def test_result_payload_refuses_a_non_bool_ok() -> None:
    with pytest.raises(Unencodable, match="ok must be a bool, got 1"):
        result_payload(id="c1", ts=T0, ok=1, detail="")  # type: ignore[arg-type]


def test_times_are_written_in_utc_with_millisecond_precision() -> None:
    stockholm = timezone(timedelta(hours=1))
    at = datetime(2027, 3, 9, 10, 0, 0, 123999, tzinfo=stockholm)
    payload = result_payload(id="c1", ts=at, ok=True)
    assert payload == b'{"v":1,"id":"c1","ts":"2027-03-09T09:00:00.123Z","ok":true,"detail":""}'
    assert at.astimezone(UTC).microsecond == 123999

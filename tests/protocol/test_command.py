"""protocol.read_command accepts a cmd payload iff protocol.parse does, with equal fields.

Differential, on generated payloads: valid commands written every way RFC 3339
and JSON allow, the same with one field replaced by a hostile value, the
fuzz corpus of ``test_fuzz`` (random bytes, cut and corrupted messages), and
JSON that pydantic's parser refuses where ``json.loads`` does not (deep
nesting, lone surrogates, huge integers). When both accept, the fields are
equal; when both reject, the reason is the same (and so is the detail,
except for an invalid field, where only pydantic's wording differs).

The one documented difference (docs/protocol.md, "Choices"): pydantic also
reads a time as a unix timestamp or in a few non-RFC 3339 layouts, and the
reader refuses those. :func:`_pydantic_only_time` says exactly which, and
``test_read_command_refuses_times_pydantic_takes`` shows each.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from protocol import (
    MAX_PAYLOAD,
    CommandType,
    Message,
    ReceivedCommand,
    RejectReason,
    parse,
    read_command,
)
from protocol.errors import MalformedCommand
from protocol.names import DEVICE_RE, ID_RE
from tests.protocol.samples import COMMAND, VALID_PAYLOADS, fuzzed_payloads

TOPIC = "driftvakt/v1/botkyrka/gw-0042/cmd"
_STRICT_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_LENIENT_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt _][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})"
    r"|[+-]?[0-9]+(\.[0-9]*)?"
)
"""What pydantic reads as a time beyond RFC 3339: other layouts, and unix timestamps."""


def _pydantic_only_time(value: object) -> bool:
    """Whether ``value`` is a time pydantic accepts that the reader refuses on purpose."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    return (
        isinstance(value, str)
        and _STRICT_TIME.fullmatch(value) is None
        and _LENIENT_TIME.fullmatch(value) is not None
    )


def _read(payload: bytes) -> ReceivedCommand | MalformedCommand:
    try:
        return read_command(payload)
    except MalformedCommand as exc:
        return exc


def _assert_same_verdict(payload: bytes) -> None:
    expected = parse(TOPIC, payload)
    got = _read(payload)
    if isinstance(expected, Message):
        if isinstance(got, MalformedCommand):  # only the documented difference may refuse
            field = got.detail.split(":", 1)[0]
            assert field in ("ts", "expires"), got
            assert _pydantic_only_time(json.loads(payload)[field]), got
            return
        assert dataclasses.asdict(got) == expected.body.model_dump()  # type: ignore[union-attr]
        assert got.ts.tzinfo is UTC and got.expires.tzinfo is UTC
        return
    assert isinstance(got, MalformedCommand), (expected, got)
    assert got.reason == expected.reason, (expected, got)
    if got.reason is not RejectReason.BAD_PAYLOAD:
        assert got.detail == expected.detail


# -- generated payloads --

_TIME_CHARS = "0123456789-:.,+TZtz _"


@st.composite
def _rfc3339(draw: st.DrawFn) -> str:
    """Any RFC 3339 date-time, including the edges of the datetime range."""
    t = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
    fraction = draw(st.text("0123456789", max_size=12))
    offset = draw(
        st.sampled_from(["Z", "z", "+00:00", "-00:00"])
        | st.builds(
            "{}{:02d}:{:02d}".format, st.sampled_from("+-"), st.integers(0, 23), st.integers(0, 59)
        )
    )
    date = f"{t.year:04d}-{t.month:02d}-{t.day:02d}"
    clock = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    dot = "." + fraction if fraction else ""
    return f"{date}{draw(st.sampled_from('Tt'))}{clock}{dot}{offset}"


@st.composite
def _near_times(draw: st.DrawFn) -> object:
    """A valid time bent out of shape: pydantic's lenient layouts, timestamps, garbage."""
    text = draw(_rfc3339())
    bend = draw(st.integers(0, 6))
    if bend == 0:
        return text.replace("T", draw(st.sampled_from([" ", "_", "", "TT"])), 1)
    if bend == 1:
        return re.sub(r"(\d\d:\d\d):\d\d", r"\1", text, count=1)  # no seconds
    if bend == 2:
        return text.replace(".", ",") if "." in text else text.replace("Z", ".Z")
    if bend == 3:
        return re.sub(
            r"([+-]\d\d):(\d\d)$", draw(st.sampled_from([r"\1\2", r"\1", r"\1:\2:00"])), text
        )
    if bend == 4:
        return draw(
            st.integers(-(10**12), 10**13)
            | st.floats()
            | st.from_regex(r"-?[0-9]{1,14}(\.[0-9]{0,4})?", fullmatch=True)
        )
    if bend == 5:
        return draw(st.text(_TIME_CHARS, max_size=40))
    return text[: draw(st.integers(0, len(text)))]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_HOSTILE = st.one_of(
    _JSON,
    st.sampled_from([True, 1.0, "1", 0, 2, -1, None, "", "x" * 64, "x" * 65, "all", "ALL"]),
    st.sampled_from([t.value for t in CommandType]),
    st.text(st.characters(codec=None), max_size=70),
    st.from_regex(ID_RE, fullmatch=True),
    st.from_regex(DEVICE_RE, fullmatch=True),
    _near_times(),
)
_FIELDS = ("v", "id", "ts", "type", "device", "by", "expires")


@st.composite
def _commands(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {
        "v": 1,
        "id": draw(st.from_regex(ID_RE, fullmatch=True)),
        "ts": draw(_rfc3339()),
        "type": draw(st.sampled_from([t.value for t in CommandType])),
        "device": draw(st.just("all") | st.from_regex(DEVICE_RE, fullmatch=True)),
        "by": draw(st.text(min_size=1, max_size=64)),
        "expires": draw(_rfc3339()),
    }
    extra = draw(st.dictionaries(st.text(max_size=8), _JSON, max_size=3))
    body |= {k: v for k, v in extra.items() if k not in body}
    return body


@st.composite
def _command_payloads(draw: st.DrawFn) -> bytes:
    """A command, maybe with a field replaced, dropped, repeated or wrapped deep, as bytes."""
    body = draw(_commands())
    change = draw(st.integers(0, 4))
    field = draw(st.sampled_from(_FIELDS))
    if change == 1:
        body[field] = draw(_HOSTILE)
    elif change == 2:
        del body[field]
    items = list(body.items())
    if draw(st.booleans()):
        items = draw(st.permutations(items))
    text = json.dumps(dict(items), ensure_ascii=draw(st.booleans()), separators=(",", ":"))
    if change == 3:  # a repeated key: the last one counts, for both
        text = text[:-1] + f',"{field}":{json.dumps(draw(_HOSTILE))}' + "}"
    if change == 4:  # nesting around pydantic's limit of 200 containers
        depth = draw(st.integers(190, 210))
        leaf = draw(st.sampled_from(["1", "[]", "{}", '"s"']))
        deep = "".join(draw(st.sampled_from(["[", '{"k":'])) for _ in range(depth))
        closing = "".join("]" if c == "[" else "}" for c in reversed(deep.replace('{"k":', "{")))
        text = text[:-1] + ',"deep":' + deep + leaf + closing + "}"
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=3000, deadline=None)
@given(payload=_command_payloads())
@example(payload=json.dumps({**json.loads(COMMAND.to_payload()), "ts": 1800000000}).encode())
def test_read_command_agrees_with_parse_on_generated_commands(payload: bytes) -> None:
    _assert_same_verdict(payload)


@settings(max_examples=1500, deadline=None)
@given(payload=fuzzed_payloads([COMMAND.to_payload(), *VALID_PAYLOADS]))
def test_read_command_agrees_with_parse_on_the_fuzz_corpus(payload: bytes) -> None:
    _assert_same_verdict(payload)


@settings(max_examples=300, deadline=None)
@given(time=_near_times(), field=st.sampled_from(["ts", "expires"]))
def test_read_command_agrees_with_parse_on_bent_times(time: object, field: str) -> None:
    body = {**json.loads(COMMAND.to_payload()), field: time}
    _assert_same_verdict(json.dumps(body).encode())


@pytest.mark.parametrize(
    "extra",
    [
        "9" * 4300,
        "-" + "9" * 4301,
        '"\\ud800"',
        '"\\ude00\\ud83d"',
        '"\\ud83d\\ude00"',
        "NaN",
        "-Infinity",
        "1e999",
        "[" * 199 + "1" + "]" * 199,
        "[" * 200 + "1" + "]" * 200,
        "[" * 200 + "]" * 200,
        '{"k":' * 199 + "{}" + "}" * 199,
        '{"k":' * 200 + "1" + "}" * 200,
        "[" * 3000 + "]" * 3000,
    ],
)
def test_read_command_agrees_with_parse_where_json_loads_is_laxer(extra: str) -> None:
    payload = COMMAND.to_payload()[:-1] + b',"x":' + extra.encode() + b"}"
    _assert_same_verdict(payload)


# -- the documented difference --


@pytest.mark.parametrize(
    "time",
    [
        1800000000,
        1800000000.5,
        "1800000000",
        "-5",
        "2027-03-09 09:00:00Z",
        "2027-03-09_09:00:00Z",
        "2027-03-09T09:00Z",
        "2027-03-09T09:00:00,5Z",
        "2027-03-09T09:00:00+0100",
    ],
)
def test_read_command_refuses_times_pydantic_takes(time: object) -> None:
    """Deliberate: only RFC 3339 date-times, never a timestamp (docs/protocol.md, "Choices")."""
    payload = json.dumps({**json.loads(COMMAND.to_payload()), "expires": time}).encode()
    assert isinstance(parse(TOPIC, payload), Message)
    assert _pydantic_only_time(time)
    with pytest.raises(MalformedCommand) as caught:
        read_command(payload)
    assert caught.value.detail == (
        "expires: time must be RFC 3339 with an offset, e.g. 2027-03-09T09:00:00Z"
    )


# -- examples --


def test_read_command_reads_the_sample_command() -> None:
    command = read_command(COMMAND.to_payload())
    assert dataclasses.asdict(command) == COMMAND.model_dump()
    assert command.type is CommandType.POWER_CYCLE
    assert not command.expired(datetime(2027, 3, 9, 9, 4, 59, tzinfo=UTC))
    assert command.expired(datetime(2027, 3, 9, 9, 5, tzinfo=UTC))


def test_read_command_normalises_offsets_and_cuts_fractions_to_microseconds() -> None:
    body = {**json.loads(COMMAND.to_payload()), "ts": "2027-03-09t10:00:00.1234569+01:00"}
    command = read_command(json.dumps(body).encode())
    assert command.ts == datetime(2027, 3, 9, 9, 0, 0, 123456, tzinfo=UTC)


def _with(**changes: Any) -> bytes:
    body = {**json.loads(COMMAND.to_payload()), **changes}
    return json.dumps({k: v for k, v in body.items() if v is not _DROP}).encode()


_DROP = object()


@pytest.mark.parametrize(
    ("payload", "reason", "detail"),
    [
        (b"x" * (MAX_PAYLOAD + 1), "too_large", "payload is 8193 bytes, the limit is 8192"),
        (b'{"v":1,"by":"\xff"}', "bad_encoding", "payload is not UTF-8"),
        (b"{not json", "bad_json", "payload is not valid JSON"),
        (b'{"x":"\\ud800"}', "bad_json", "payload is not valid JSON"),
        (b"[1]", "bad_payload", "payload must be a JSON object"),
        (_with(v=_DROP), "bad_version", "'v' must be 1, got None"),
        (_with(v=True), "bad_version", "'v' must be 1, got True"),
        (_with(v=1.0), "bad_version", "'v' must be 1, got 1.0"),
        (_with(v="1"), "bad_version", "'v' must be 1, got '1'"),
        (_with(id="bad id"), "bad_payload", "id: String should match pattern '^[0-9A-Za-z]"),
        (_with(id=7), "bad_payload", "id: Input should be a valid string"),
        (_with(ts=_DROP), "bad_payload", "ts: Field required"),
        (
            _with(ts="2027-03-09T09:00:00"),
            "bad_payload",
            "ts: time must be RFC 3339 with an offset",
        ),
        (_with(ts="2027-02-29T09:00:00Z"), "bad_payload", "ts: day is out of range for month"),
        (_with(ts="2027-03-09T09:00:00+24:00"), "bad_payload", "ts: offset +24:00 is out of range"),
        (_with(ts="9999-12-31T23:59:59-01:00"), "bad_payload", "ts: time is out of range in UTC"),
        (_with(type="reboot"), "bad_payload", "type: Input should be 'power_cycle' or 'probe_now'"),
        (_with(device="fridge/1"), "bad_payload", "device: String should match pattern '^(all|"),
        (_with(by=""), "bad_payload", "by: String should have at least 1 character"),
        (_with(by="x" * 65), "bad_payload", "by: String should have at most 64 characters"),
        (_with(expires=None), "bad_payload", "expires: time must be RFC 3339 with an offset"),
    ],
)
def test_read_command_refuses(payload: bytes, reason: str, detail: str) -> None:
    with pytest.raises(MalformedCommand) as caught:
        read_command(payload)
    assert caught.value.reason == reason
    assert caught.value.detail.startswith(detail)
    rejected = parse(TOPIC, payload)
    assert not isinstance(rejected, Message)
    assert rejected.reason == reason

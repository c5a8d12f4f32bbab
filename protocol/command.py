"""Reading a ``cmd`` payload without pydantic, for the agent (docs/protocol.md).

:func:`read_command` accepts what ``protocol.parse`` accepts on a ``cmd`` topic
and gives the same reject reason, so the agent can drop pydantic (its peak RSS
on the Pi is capped) without reading commands differently from the contract.
``tests/protocol/test_command.py`` proves it on generated payloads.

Two groups of rules keep the two in step:

- what pydantic's JSON parser refuses that ``json.loads`` takes: values nested
  more than 200 containers deep and lone UTF-16 surrogates (``"\\ud800"``);
- times: the RFC 3339 ``date-time`` of the contract only. pydantic also takes
  unix timestamps (``1800000000``, ``"1800000000"``), a space or ``_`` for
  ``T``, times without seconds, ``,`` before the fraction and offsets without
  a colon (``+0100``); this reader refuses them on purpose, a safer reading of
  the contract for a command that cuts power (docs/protocol.md, "Choices").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from protocol.errors import MalformedCommand
from protocol.names import DEVICE_RE, ID_RE
from protocol.vocab import MAX_PAYLOAD, CommandType, RejectReason, utc

_TARGET_RE = re.compile(r"^(all|" + DEVICE_RE.pattern + r")$")
_ID_RE = re.compile(f"^{ID_RE.pattern}$")
_TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_TIME_FIX = "time must be RFC 3339 with an offset, e.g. 2027-03-09T09:00:00Z"
_NOT_JSON = "payload is not valid JSON"
_COMMAND_TYPES = frozenset(t.value for t in CommandType)
_BY_MAX = 64
_MAX_DEPTH = 200
"""Containers pydantic's JSON parser (jiter) lets a value sit in; deeper is invalid JSON."""


@dataclass(frozen=True, slots=True)
class ReceivedCommand:
    """A valid command: the fields of :class:`protocol.models.Command`, times in UTC."""

    v: int
    id: str
    ts: datetime
    type: CommandType
    device: str
    """A device name, or ``all``."""
    by: str
    """The operator who sent it."""
    expires: datetime

    def expired(self, now: datetime) -> bool:
        """Whether ``now`` (aware) is at or past ``expires``."""
        return utc(now) >= self.expires


def read_command(payload: bytes) -> ReceivedCommand:
    """Read one ``cmd`` payload as ``protocol.parse`` would on a ``cmd`` topic.

    :param payload: the raw payload.
    :raises MalformedCommand: with the reason and detail ``protocol.parse`` gives
        (the detail's wording may differ for an invalid field).
    """
    if len(payload) > MAX_PAYLOAD:
        detail = f"payload is {len(payload)} bytes, the limit is {MAX_PAYLOAD}"
        raise MalformedCommand(RejectReason.TOO_LARGE, detail)
    data = _decode(payload)
    if not isinstance(data, dict):
        raise MalformedCommand(RejectReason.BAD_PAYLOAD, "payload must be a JSON object")
    version = data.get("v")
    if type(version) is not int or version != 1:
        raise MalformedCommand(RejectReason.BAD_VERSION, f"'v' must be 1, got {version!r}"[:200])
    values: dict[str, Any] = {}
    for name, read in _FIELDS:
        try:
            if name not in data:
                raise ValueError("Field required")
            values[name] = read(data[name])
        except ValueError as exc:
            raise MalformedCommand(RejectReason.BAD_PAYLOAD, f"{name}: {exc}"[:200]) from None
    return ReceivedCommand(v=1, **values)


def _decode(payload: bytes) -> object:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedCommand(RejectReason.BAD_ENCODING, "payload is not UTF-8") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # ValueError includes ints over 4300 digits
        raise MalformedCommand(RejectReason.BAD_JSON, _NOT_JSON) from None
    if not _jiter_takes(data, 0):
        raise MalformedCommand(RejectReason.BAD_JSON, _NOT_JSON)
    return data


def _jiter_takes(value: object, depth: int) -> bool:
    """Whether pydantic's parser would have taken what ``json.loads`` did."""
    if isinstance(value, str):
        return not any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        items = [*value, *value.values()]
    elif isinstance(value, list):
        items = value
    else:
        return True
    if items and depth == _MAX_DEPTH:
        return False
    return all(_jiter_takes(item, depth + 1) for item in items)


def _text(pattern: re.Pattern[str]) -> Callable[[object], str]:
    def read(value: object) -> str:
        if not isinstance(value, str):
            raise ValueError("Input should be a valid string")
        if pattern.fullmatch(value) is None:
            raise ValueError(f"String should match pattern '{pattern.pattern}'")
        return value

    return read


def _by(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("Input should be a valid string")
    if not value:
        raise ValueError("String should have at least 1 character")
    if len(value) > _BY_MAX:
        raise ValueError(f"String should have at most {_BY_MAX} characters")
    return value


def _command_type(value: object) -> CommandType:
    if isinstance(value, str) and value in _COMMAND_TYPES:
        return CommandType(value)
    choices = " or ".join(f"'{t.value}'" for t in CommandType)
    raise ValueError(f"Input should be {choices}")


def _time(value: object) -> datetime:
    """An RFC 3339 ``date-time``; fraction digits past microseconds are cut, as pydantic does."""
    match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(_TIME_FIX)
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    offset = timedelta()
    if sign is not None:
        if int(off_h) > 23 or int(off_m) > 59:
            raise ValueError(f"offset {sign}{off_h}:{off_m} is out of range")
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    y, mo, d, h, mi, s = (int(p) for p in (year, month, day, hour, minute, second))
    return utc(datetime(y, mo, d, h, mi, s, micro, tzinfo=timezone(offset)))


_FIELDS: tuple[tuple[str, Callable[[object], object]], ...] = (
    ("id", _text(_ID_RE)),
    ("ts", _time),
    ("type", _command_type),
    ("device", _text(_TARGET_RE)),
    ("by", _by),
    ("expires", _time),
)
"""Checked in the model's field order, so the first problem named is pydantic's first."""

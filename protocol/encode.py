"""The agent's outgoing messages as wire bytes, without pydantic.

The agent must stay under 40 MB peak RSS on the Pi, and pydantic alone costs it
about 10 MB, so it writes ``events``, ``state`` and ``cmd/result`` here with the
standard library. The bytes are those of the models' ``to_payload()`` for the
same values (compact JSON, UTF-8, absent optional fields left out, times by
:func:`~protocol.vocab.format_time`); ``tests/protocol/test_encode.py`` proves
it against :mod:`protocol.models` on generated values.

Every function checks what the contract checks and raises
:class:`~protocol.errors.Unencodable` instead of writing a message central
would reject (docs/protocol.md, "The agent's side is stdlib-only"). Stricter
than the models on purpose: no ``bool`` where a number belongs, no NaN or
infinity (pydantic would write ``null``), only JSON values in ``detail``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from protocol.errors import Unencodable
from protocol.names import DEVICE_RE, ID_RE
from protocol.vocab import MAX_PAYLOAD, Health, format_time

_EVENT_TYPE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_RESULT_DETAIL_MAX = 1024
_AGENT_MAX = 64


@dataclass(frozen=True, slots=True)
class DeviceReport:
    """One device in a state snapshot: :class:`protocol.models.DeviceState` for the agent.

    :param since: when ``health`` last changed (aware).
    :param rtt_ms: the last probe's round trip in milliseconds, if it answered.
    :param auto_restart: false where the device has no working relay.
    :raises Unencodable: a value the contract forbids.
    """

    health: Health
    since: datetime
    rtt_ms: float | None = None
    restarts_24h: int = 0
    auto_restart: bool = True

    def __post_init__(self) -> None:
        _require(isinstance(self.health, Health), "health", self.health, "a Health")
        _time("since", self.since)
        if self.rtt_ms is not None:
            fits = _number(self.rtt_ms) and math.isfinite(self.rtt_ms) and self.rtt_ms >= 0
            _require(fits, "rtt_ms", self.rtt_ms, "a finite number >= 0")
        _count("restarts_24h", self.restarts_24h)
        _require(isinstance(self.auto_restart, bool), "auto_restart", self.auto_restart, "a bool")

    def _fields(self) -> dict[str, Any]:
        rtt_ms = None if self.rtt_ms is None else float(self.rtt_ms)  # pydantic's float field
        return _present(
            health=self.health,
            since=format_time(self.since),
            rtt_ms=rtt_ms,
            restarts_24h=self.restarts_24h,
            auto_restart=self.auto_restart,
        )


def event_payload(
    *,
    id: str,
    ts: datetime,
    boot: str,
    seq: int,
    type: str,
    device: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> bytes:
    """An ``events`` payload, as ``Event(v=1, ...).to_payload()`` writes it.

    :param type: an :class:`~protocol.vocab.EventType` (any ``[a-z][a-z0-9_]*`` name passes).
    :param device: ``None`` for gateway-wide events.
    :param detail: JSON values only: str, int, float, bool, None, lists and str-keyed mappings.
    :raises Unencodable: a value the contract forbids, or a payload over 8 KiB.
    """
    _id("id", id)
    _id("boot", boot)
    _count("seq", seq)
    _pattern("type", type, _EVENT_TYPE_RE)
    if device is not None:
        _pattern("device", device, DEVICE_RE)
    stamp = _time("ts", ts)
    fields = _present(v=1, id=id, ts=stamp, boot=boot, seq=seq, type=type, device=device)
    return _payload({**fields, "detail": dict(detail or {})})


def state_payload(
    *,
    ts: datetime,
    boot: str,
    seq: int,
    agent: str,
    uptime_s: int,
    heartbeat_s: int,
    devices: Mapping[str, DeviceReport],
    time_synced: bool | None = None,
) -> bytes:
    """A ``state`` payload, as ``StateSnapshot(v=1, ...).to_payload()`` writes it.

    :param agent: the agent's version, at most 64 characters.
    :param uptime_s: seconds since the agent started.
    :param heartbeat_s: seconds between snapshots at the latest, 1 to 3600.
    :raises Unencodable: a value the contract forbids, or a payload over 8 KiB.
    """
    _id("boot", boot)
    _count("seq", seq)
    fits = isinstance(agent, str) and len(agent) <= _AGENT_MAX
    _require(fits, "agent", agent, "a text of at most 64 characters")
    _count("uptime_s", uptime_s)
    _count("heartbeat_s", heartbeat_s)
    _require(1 <= heartbeat_s <= 3600, "heartbeat_s", heartbeat_s, "1 to 3600")
    fits = time_synced is None or isinstance(time_synced, bool)
    _require(fits, "time_synced", time_synced, "a bool or None")
    for name, report in devices.items():
        _pattern("devices", name, DEVICE_RE)
        _require(isinstance(report, DeviceReport), name, report, "a DeviceReport")
    fields = _present(
        v=1,
        ts=_time("ts", ts),
        boot=boot,
        seq=seq,
        agent=agent,
        uptime_s=uptime_s,
        heartbeat_s=heartbeat_s,
        time_synced=time_synced,
        devices={name: report._fields() for name, report in devices.items()},
    )
    return _payload(fields)


def result_payload(*, id: str, ts: datetime, ok: bool, detail: str = "") -> bytes:
    """A ``cmd/result`` payload, as ``CommandResult(v=1, ...).to_payload()`` writes it.

    :param id: the id of the command this answers.
    :param detail: at most 1024 characters; cutting a longer text is the caller's choice.
    :raises Unencodable: a value the contract forbids.
    """
    _id("id", id)
    _require(isinstance(ok, bool), "ok", ok, "a bool")
    fits = isinstance(detail, str) and len(detail) <= _RESULT_DETAIL_MAX
    _require(fits, "detail", detail, "a text of at most 1024 characters")
    return _payload({"v": 1, "id": id, "ts": _time("ts", ts), "ok": ok, "detail": detail})


def _present(**fields: Any) -> dict[str, Any]:
    """A model's fields without the ``None`` ones (pydantic's ``exclude_none``), in order.

    Only the model's own fields: ``None`` inside ``detail`` is written as ``null``.
    """
    return {name: value for name, value in fields.items() if value is not None}


def _payload(fields: Mapping[str, Any]) -> bytes:
    payload = _json(fields).encode()
    if len(payload) > MAX_PAYLOAD:
        raise Unencodable(f"payload is {len(payload)} bytes, the limit is {MAX_PAYLOAD}")
    return payload


def _json(value: object) -> str:
    """Compact JSON as pydantic writes it: ``json.dumps`` differs only in small floats."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json(item) for item in value) + "]"
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise Unencodable(f"JSON object keys must be strings: {list(value)!r}"[:200])
        return "{" + ",".join(f"{_json(k)}:{_json(v)}" for k, v in value.items()) + "}"
    raise Unencodable(f"{type(value).__name__} is not a JSON value: {value!r}"[:200])


def _float(value: float) -> str:
    """Python's shortest round-trip digits, in the layout of pydantic's (Rust) writer.

    The two agree except below 1e-4: Rust writes ``0.00001`` where Python writes
    ``1e-05``, and ``1e-6`` where Python writes ``1e-06``.
    """
    if not math.isfinite(value):
        raise Unencodable(f"{value!r} has no JSON form (pydantic would write null)")
    text = float.__repr__(value)
    mantissa, _, exponent = text.partition("e")
    if not exponent.startswith("-"):
        return text
    power = int(exponent)
    if power == -5:
        sign, digits = ("-", mantissa[1:]) if mantissa.startswith("-") else ("", mantissa)
        return f"{sign}0.0000{digits.replace('.', '')}"
    return f"{mantissa}e{power}"


def _time(name: str, value: datetime) -> str:
    _require(isinstance(value, datetime), name, value, "an aware datetime")
    try:
        return format_time(value)
    except ValueError as exc:
        raise Unencodable(f"{name}: {exc}") from None


def _id(name: str, value: str) -> None:
    _pattern(name, value, ID_RE)


def _pattern(name: str, value: str, pattern: re.Pattern[str]) -> None:
    fits = isinstance(value, str) and pattern.fullmatch(value) is not None
    _require(fits, name, value, f"a match of {pattern.pattern}")


def _count(name: str, value: int) -> None:
    fits = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    _require(fits, name, value, "an int >= 0")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _require(fits: bool, name: str, value: object, rule: str) -> None:
    if not fits:
        raise Unencodable(f"{name} must be {rule}, got {value!r}"[:200])

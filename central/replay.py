"""``replay``: the engine over a recording, printing every decision (docs/replay.md).

Three kinds of input line, each one JSON object with ``at`` (RFC 3339, the
time it arrived at central):

- MQTT: ``{"at", "topic", "payload"}``; ``payload`` is a JSON value, or a string
  for plain-text payloads (``"online"``); parsed by :func:`protocol.parse`.
- Human: ``{"at", "human": "<kind>", ...}``; kinds ``acknowledge``, ``task_done``,
  ``visit_done``, ``vendor_case``, ``check_failed``, ``check_worked``.
- Central: ``{"at", "central": "broker_lost" | "broker_restored"}``.

Timers and liveness deadlines fire between lines in time order, and after the
last line up to ``until``. A bad line (unreadable, rejected by the protocol,
earlier than the line before it, or naming an unknown task) is reported on
``err`` with its line number and skipped. The same engine code runs live.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from central.engine import (
    Acknowledge,
    BrokerLost,
    BrokerRestored,
    CheckFailed,
    CheckWorked,
    Decision,
    Effect,
    Engine,
    GatewayMessage,
    Input,
    TaskDone,
    TaskRef,
    VendorCaseNumber,
    VisitDone,
)
from central.errors import DriftvaktError, ReplayInputError
from protocol import Message, parse

DEFAULT_TAIL = timedelta(hours=24)
"""Without ``--until``, run the clock this long past the last line."""


def parse_time(value: object, field: str = "at") -> datetime:
    if not isinstance(value, str):
        raise ReplayInputError(f"'{field}' must be an RFC 3339 time string")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReplayInputError(f"'{field}' is not an RFC 3339 time: {value!r}") from None
    if when.tzinfo is None:
        raise ReplayInputError(f"'{field}' needs an offset or Z: {value!r}")
    return when.astimezone(UTC)


def _opt_time(data: dict[str, Any], field: str) -> datetime | None:
    return parse_time(data[field], field) if data.get(field) is not None else None


def _ref(data: dict[str, Any]) -> TaskRef:
    try:
        return TaskRef(
            task=data.get("task"),
            gateway=data.get("gateway"),
            action=data.get("action"),
            check=_opt_time(data, "check"),
            incident=data.get("incident"),
        )
    except ValueError as exc:
        raise ReplayInputError(str(exc)) from None


def _human(at: datetime, data: dict[str, Any]) -> Input:
    kind, by = data["human"], str(data.get("by", ""))
    builders: dict[str, Callable[[], Input]] = {
        "acknowledge": lambda: Acknowledge(at, _ref(data), by),
        "task_done": lambda: TaskDone(at, _ref(data), by, str(data.get("outcome", ""))),
        "visit_done": lambda: VisitDone(
            at, _ref(data), bool(data.get("restarted", False)), data.get("camera_works"), by
        ),
        "vendor_case": lambda: VendorCaseNumber(
            at, data.get("incident"), str(data["case_number"]), data.get("gateway"), by
        ),
        "check_failed": lambda: CheckFailed(at, data.get("gateway"), _opt_time(data, "check"), by),
        "check_worked": lambda: CheckWorked(
            at, str(data["gateway"]), _required_time(data, "check"), by
        ),
    }
    if kind not in builders:
        raise ReplayInputError(f"unknown human input {kind!r}; use one of {', '.join(builders)}")
    try:
        return builders[kind]()
    except KeyError as exc:
        raise ReplayInputError(f"human input {kind!r} needs {exc.args[0]!r}") from None


def _required_time(data: dict[str, Any], field: str) -> datetime:
    when = _opt_time(data, field)
    if when is None:
        raise ReplayInputError(f"'{field}' is required")
    return when


def read_line(text: str) -> Input:
    """One recording line as an engine input; :class:`ReplayInputError` if bad."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ReplayInputError("not valid JSON") from None
    if not isinstance(data, dict):
        raise ReplayInputError("a line must be a JSON object")
    at = parse_time(data.get("at"))
    if "human" in data:
        return _human(at, data)
    if "central" in data:
        if data["central"] == "broker_lost":
            return BrokerLost(at)
        if data["central"] == "broker_restored":
            return BrokerRestored(at)
        raise ReplayInputError(f"unknown central input {data['central']!r}")
    return GatewayMessage(at, _message(data))


def _message(data: dict[str, Any]) -> Message:
    topic, payload = data.get("topic"), data.get("payload")
    if not isinstance(topic, str) or "payload" not in data:
        raise ReplayInputError("an MQTT line needs 'topic' and 'payload' (or 'human'/'central')")
    raw = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
    parsed = parse(topic, raw)
    if not isinstance(parsed, Message):
        raise ReplayInputError(f"rejected by the protocol: {parsed.reason.value}: {parsed.detail}")
    return parsed


@dataclass(slots=True)
class ReplayResult:
    lines: int = 0
    bad: int = 0
    decisions: int = 0
    last: datetime | None = None


def replay(
    lines: Iterable[str],
    engine: Engine,
    out: TextIO,
    err: TextIO,
    until: datetime | None = None,
) -> ReplayResult:
    """Run ``engine`` over recording ``lines``, writing decisions to ``out`` as JSON lines."""
    result = ReplayResult()

    def emit(effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Decision):
                out.write(json.dumps(effect.to_dict(), ensure_ascii=False) + "\n")
                result.decisions += 1

    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        result.lines += 1
        try:
            item = read_line(text)
            if until is not None and item.at > until:
                break
            if result.last is not None and item.at < result.last:
                raise ReplayInputError(f"arrived before the line above ({item.at.isoformat()})")
            emit(engine.run_until(item.at, inclusive=False))
            result.last = item.at
            emit(engine.handle(item))
        except (DriftvaktError, ValueError) as exc:
            result.bad += 1
            err.write(f"line {number}: {exc}; skipped\n")
    end = until or (result.last + DEFAULT_TAIL if result.last else None)
    if end is not None:
        emit(engine.run_until(end))
    return result

"""Checking operator commands before the runner sees them (pure: no I/O, no clock).

PROTOCOL.md: the agent rejects expired, malformed or over-budget commands and
answers every command on ``cmd/result``. Validation happens here, the budget
is the runner's (a ``power_cycle`` counts against the same restart budget as
an automatic restart), and the link carries the answer. Rules, in order:

1. The payload must read as a v1 command (:func:`protocol.read_command`, which
   accepts what ``protocol.parse`` does, without pydantic) on this gateway's
   own ``cmd`` topic. A malformed command is answered with the id it carried
   if one can be read, otherwise only a ``command_rejected`` event reports it.
2. The device must be one this agent has, or ``all``.
3. The clock must be synchronised: an unsynchronised Pi clock is usually
   behind (fake-hwclock restores the last shutdown time), so an expired
   command would look fresh and could cut a camera's power hours late.
4. The command must not have expired.
5. A command id seen before is not acted on again (QoS 1 may redeliver); the
   earlier answer is repeated.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from protocol import (
    ReceivedCommand,
    TopicKind,
    format_time,
    parse_topic,
    read_command,
    result_payload,
)
from protocol.errors import MalformedCommand
from protocol.names import ID_RE


@dataclass(frozen=True, slots=True)
class Refused:
    """A command turned away before reaching the runner.

    ``command_id`` is None when the payload carried no usable id to answer.
    """

    command_id: str | None
    reason: str


def check_command(
    topic: str,
    payload: bytes,
    now: datetime,
    *,
    tenant: str,
    gateway: str,
    devices: Collection[str],
    clock_synced: bool,
) -> ReceivedCommand | Refused:
    """Validate one message from ``P/cmd``; see the module rules.

    :param now: the receive time (aware UTC), for the expiry check.
    :param devices: the device names this agent controls.
    """
    where = parse_topic(topic)
    if where is None:
        reason = "malformed command: topic is not part of the v1 contract"
        return Refused(_readable_id(payload), reason)
    if (where.kind, where.tenant, where.gateway) != (TopicKind.CMD, tenant, gateway):
        return Refused(None, f"not this gateway's command topic: {topic}")
    try:
        command = read_command(payload)
    except MalformedCommand as exc:
        return Refused(_readable_id(payload), f"malformed command: {exc.detail}")
    if command.device != "all" and command.device not in devices:
        known = ", ".join(sorted(devices)) or "none"
        return Refused(command.id, f"unknown device {command.device!r} (known: {known}, all)")
    if not clock_synced:
        return Refused(command.id, "gateway clock is not synchronised: cannot check expiry")
    if command.expired(now):
        return Refused(command.id, f"expired at {format_time(command.expires)}")
    return command


def _readable_id(payload: bytes) -> str | None:
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and ID_RE.fullmatch(value) else None


@dataclass(frozen=True, slots=True)
class Answer:
    """The ``cmd/result`` of one command, kept so that a redelivered command gets it again.

    :param id: the command's id.
    :param ts: when it was answered (aware).
    """

    id: str
    ts: datetime
    ok: bool
    detail: str

    def to_payload(self) -> bytes:
        return result_payload(id=self.id, ts=self.ts, ok=self.ok, detail=self.detail)


def result(command_id: str, ok: bool, detail: str, now: datetime) -> Answer:
    """The ``cmd/result`` answer; ``detail`` is cut to the contract's 1024 characters."""
    return Answer(command_id, now, ok, detail[:1024])


class RecentCommands:
    """The answers to the last ``size`` commands, so a redelivered command is not acted on twice."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._answers: OrderedDict[str, Answer] = OrderedDict()

    def get(self, command_id: str) -> Answer | None:
        return self._answers.get(command_id)

    def remember(self, answer: Answer) -> None:
        self._answers[answer.id] = answer
        self._answers.move_to_end(answer.id)
        while len(self._answers) > self._size:
            self._answers.popitem(last=False)

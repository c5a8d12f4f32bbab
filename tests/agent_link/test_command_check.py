"""Command validation: a table of commands on a fixed clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.command_check import RecentCommands, Refused, check_command, result
from protocol import CommandType, ReceivedCommand

NOW = datetime(2027, 3, 9, 2, 0, tzinfo=UTC)
TOPIC = "driftvakt/v1/botkyrka/gw-0042/cmd"


def _cmd(**changes: Any) -> dict[str, Any]:
    body = {
        "v": 1,
        "id": "01JCMD0000000000000000000A",
        "ts": "2027-03-09T01:59:50Z",
        "type": "power_cycle",
        "device": "camera",
        "by": "op-7",
        "expires": "2027-03-09T02:05:00Z",
    }
    body.update(changes)
    return body


def _check(payload: bytes, topic: str = TOPIC, synced: bool = True) -> ReceivedCommand | Refused:
    return check_command(
        topic,
        payload,
        NOW,
        tenant="botkyrka",
        gateway="gw-0042",
        devices=("router", "camera"),
        clock_synced=synced,
    )


def test_check_command_accepts_a_fresh_command() -> None:
    command = _check(json.dumps(_cmd()).encode())
    assert isinstance(command, ReceivedCommand)
    assert (command.type, command.device) == (CommandType.POWER_CYCLE, "camera")


def test_check_command_accepts_all_and_probe_now() -> None:
    command = _check(json.dumps(_cmd(type="probe_now", device="all")).encode())
    assert isinstance(command, ReceivedCommand)
    assert command.type is CommandType.PROBE_NOW


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"{not json", Refused(None, "malformed command: payload is not valid JSON")),
        (
            json.dumps(_cmd(type="reboot_everything")).encode(),
            Refused("01JCMD0000000000000000000A", "malformed command: type: Input should be "),
        ),
        (
            json.dumps(_cmd(v=2)).encode(),
            Refused("01JCMD0000000000000000000A", "malformed command: 'v' must be 1, got 2"),
        ),
        (
            json.dumps(_cmd(id="bad id with spaces")).encode(),
            Refused(None, "malformed command: id: String should match pattern"),
        ),
        (
            json.dumps(_cmd(device="fridge")).encode(),
            Refused(
                "01JCMD0000000000000000000A",
                "unknown device 'fridge' (known: camera, router, all)",
            ),
        ),
        (
            json.dumps(_cmd(expires="2027-03-09T02:00:00Z")).encode(),
            Refused("01JCMD0000000000000000000A", "expired at 2027-03-09T02:00:00Z"),
        ),
        (
            json.dumps(_cmd(expires="2027-03-09T01:00:00+01:00")).encode(),
            Refused("01JCMD0000000000000000000A", "expired at 2027-03-09T00:00:00Z"),
        ),
    ],
)
def test_check_command_refuses(payload: bytes, expected: Refused) -> None:
    refused = _check(payload)
    assert isinstance(refused, Refused)
    assert refused.command_id == expected.command_id
    assert refused.reason.startswith(expected.reason)


def test_check_command_refuses_when_clock_unsynchronised() -> None:
    refused = _check(json.dumps(_cmd()).encode(), synced=False)
    assert refused == Refused(
        "01JCMD0000000000000000000A", "gateway clock is not synchronised: cannot check expiry"
    )


def test_check_command_refuses_another_gateways_topic() -> None:
    other = "driftvakt/v1/botkyrka/gw-0043/cmd"
    refused = _check(json.dumps(_cmd()).encode(), topic=other)
    assert refused == Refused(None, f"not this gateway's command topic: {other}")


def test_result_truncates_detail_to_contract_limit() -> None:
    answer = result("01JCMD0000000000000000000A", False, "x" * 5000, NOW)
    assert len(answer.detail) == 1024
    assert json.loads(answer.to_payload())["ts"] == "2027-03-09T02:00:00Z"


def test_recent_commands_forgets_oldest() -> None:
    recent = RecentCommands(size=2)
    for n in range(3):
        recent.remember(result(f"c{n}", True, "", NOW))
    assert recent.get("c0") is None
    assert recent.get("c2") is not None
    assert recent.get("c1") == result("c1", True, "", NOW)


def test_check_command_expiry_is_exclusive_of_now() -> None:
    later = (NOW + timedelta(milliseconds=1)).isoformat()
    assert isinstance(_check(json.dumps(_cmd(expires=later)).encode()), ReceivedCommand)

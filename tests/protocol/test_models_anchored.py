"""Id and device-name patterns must match the whole value, not a part of it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from protocol import CommandResult, DeviceState, StateSnapshot


def test_models_reject_id_with_spaces() -> None:
    with pytest.raises(ValidationError):
        CommandResult.model_validate(
            {"v": 1, "id": "bad id", "ts": "2027-03-09T00:00:00Z", "ok": True}
        )


def test_models_reject_device_name_with_trailing_junk() -> None:
    camera = DeviceState.model_validate({"health": "up", "since": "2027-03-09T00:00:00Z"})
    with pytest.raises(ValidationError):
        StateSnapshot.model_validate(
            {
                "v": 1,
                "ts": "2027-03-09T00:00:00Z",
                "boot": "01JBOOT",
                "seq": 1,
                "agent": "0.1.0",
                "uptime_s": 1,
                "heartbeat_s": 30,
                "devices": {"camera/../x": camera},
            }
        )

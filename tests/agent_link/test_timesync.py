"""Clock synchronisation: the flag file, and the kernel's adjtimex reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.timesync import STA_UNSYNC, clock_synchronised, read_timex, synced_from_timex


@pytest.mark.parametrize(
    ("status", "maxerror", "synced"),
    [
        (0, 1_000, True),  # chrony/ntpd disciplining the clock
        (STA_UNSYNC, 1_000, False),
        (0, 16_000_000, False),  # the kernel's ceiling: nobody has set the clock
        (0x2001, 15_999_999, True),  # other status bits do not matter
    ],
)
def test_synced_from_timex_table(status: int, maxerror: int, synced: bool) -> None:
    assert synced_from_timex(status, maxerror) is synced


def test_clock_synchronised_trusts_timesyncd_flag(tmp_path: Path) -> None:
    flag = tmp_path / "synchronized"
    flag.touch()
    assert clock_synchronised(flag) is True


def test_clock_synchronised_without_flag_follows_the_kernel(tmp_path: Path) -> None:
    reading = read_timex()
    assert reading is not None  # adjtimex with modes=0 needs no privilege on Linux
    assert clock_synchronised(tmp_path / "absent") is synced_from_timex(*reading)

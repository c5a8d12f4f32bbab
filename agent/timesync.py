"""Is the gateway's clock synchronised? Reported as ``time_synced`` in every state snapshot.

A Raspberry Pi has no battery clock: until a time daemon steps it, the clock
may be hours or days behind, which breaks TLS certificate checks and command
expiry (DESIGN.md, "Time"). Two sources, in order:

1. ``/run/systemd/timesync/synchronized``: systemd-timesyncd creates it once
   it has synchronised the clock (systemd-timesyncd.service(8)).
2. The kernel's own view through ``adjtimex(2)`` with no modes set (read-only,
   unprivileged): chrony, ntpd and timesyncd all update it. Like systemd's
   ``ntp_synced()`` (what ``timedatectl`` shows as "System clock
   synchronized"), a maximum error below 16 s means synchronised.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from pathlib import Path

TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
MAX_ERROR_US = 16_000_000
"""The kernel's ceiling for ``maxerror``; it sits there while nobody disciplines the clock."""
STA_UNSYNC = 0x0040


class _Timex(ctypes.Structure):
    # The leading fields of struct timex (linux/timex.h); the tail is padding
    # large enough for the rest, which the kernel fills in.
    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("_rest", ctypes.c_byte * 256),
    )


def synced_from_timex(status: int, maxerror_us: int) -> bool:
    """Decide from what ``adjtimex(2)`` reported (pure, for tests).

    :param status: the ``status`` bit field.
    :param maxerror_us: the ``maxerror`` field, microseconds.
    """
    return maxerror_us < MAX_ERROR_US and not status & STA_UNSYNC


def read_timex() -> tuple[int, int] | None:
    """``(status, maxerror_us)`` from the kernel, or None where adjtimex is unavailable."""
    adjtimex = _adjtimex()
    if adjtimex is None:
        return None
    timex = _Timex()
    if adjtimex(ctypes.byref(timex)) < 0:
        return None
    return int(timex.status), int(timex.maxerror)


@functools.cache
def _adjtimex() -> Callable[..., int] | None:
    # The running interpreter is linked against libc already: no library search
    # (which would spawn ldconfig) on every heartbeat.
    return getattr(ctypes.CDLL(None, use_errno=True), "adjtimex", None)


def clock_synchronised(flag: Path = TIMESYNCD_FLAG) -> bool:
    """Whether the system clock is synchronised, by timesyncd's flag file or the kernel."""
    if flag.exists():
        return True
    reading = read_timex()
    return reading is not None and synced_from_timex(*reading)

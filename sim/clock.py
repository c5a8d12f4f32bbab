"""A clock that starts at a chosen local time and runs faster than real time.

The demo shows a whole afternoon and night in minutes. Every part that
decides (the agents' supervisors, the central service's engine and timers)
takes its ``now`` from one callable, so they all agree if they all get the
same :class:`ScaledClock`::

    sim_now = start + (monotonic() - anchor) * speed

``anchor`` is a ``time.monotonic()`` reading. On Linux ``CLOCK_MONOTONIC`` is
one clock for the whole machine, so a second process (``driftvakt-central run
--sim-clock SPEC``) given the same start, speed and anchor computes the same
time, to the microsecond, without talking to the first. :meth:`ScaledClock.spec`
writes that triple and :meth:`ScaledClock.from_spec` reads it.

What speeds up and what does not (docs/demo.md, "Time"): anything judged on
the clock (restart back-off and boot waits, acknowledgement deadlines,
silence, settle time, time windows, night checks) runs ``speed`` times
faster. Loops that wait in real seconds (an agent's probe interval and
heartbeat, a relay's off-time, central's poll intervals) do not; the demo
configures them short instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sim.errors import SimError

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def parse_local(text: str) -> datetime:
    """``"2027-01-12 13:55"`` (Europe/Stockholm wall clock) as an aware UTC time.

    An ISO time with an offset or ``Z`` is taken as given.

    :raises SimError: not a time; the message shows the expected form.
    """
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SimError(f"{text!r} is not a time; write it as 2027-01-12 13:55") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=STOCKHOLM)
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class ScaledClock:
    """Aware UTC time that began at ``start`` and runs ``speed`` times faster.

    :param start: the simulated time at ``anchor`` (aware).
    :param speed: simulated seconds per real second (1 is real time).
    :param anchor: the ``time.monotonic()`` reading that ``start`` belongs to.
    :param monotonic: the real clock, injected for tests.
    """

    start: datetime
    speed: float = 1.0
    anchor: float = field(default_factory=time.monotonic)
    monotonic: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise SimError("ScaledClock needs an aware start time")
        if not 0 < self.speed <= 10_000:
            raise SimError(f"speed {self.speed} must be above 0 and at most 10000")

    def __call__(self) -> datetime:
        elapsed = (self.monotonic() - self.anchor) * self.speed
        return (self.start + timedelta(seconds=elapsed)).astimezone(UTC)

    def local(self) -> datetime:
        """Now on the Stockholm wall clock, for what the demo prints."""
        return self().astimezone(STOCKHOLM)

    def real_seconds_until(self, when: datetime) -> float:
        """Real seconds from now until the clock shows ``when`` (negative if past)."""
        return (when - self()).total_seconds() / self.speed

    def spec(self) -> str:
        """``START,SPEED,ANCHOR``: what another process needs to run the same clock."""
        start = self.start.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return f"{start},{self.speed!r},{self.anchor!r}"

    @classmethod
    def from_spec(cls, text: str) -> ScaledClock:
        """The clock :meth:`spec` described.

        :raises SimError: malformed; the message shows the form.
        """
        try:
            start, speed, anchor = text.split(",")
            return cls(parse_local(start), float(speed), float(anchor))
        except (ValueError, SimError) as exc:
            form = "START,SPEED,ANCHOR, e.g. 2027-01-12T12:55:00Z,30,12345.6"
            raise SimError(f"bad clock spec {text!r}: {exc}; write {form}") from None

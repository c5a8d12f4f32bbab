"""What a probe round found out about one device: the probes' output, the health input."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TargetResult:
    """One target probed once.

    :param str target: how the technician named it (``rtsp aa:bb:..:ff -> 192.168.1.50:554``).
    :param bool ok: it answered as a live device would.
    :param rtt_ms: round trip or connect time in milliseconds, when it answered.
    :param str detail: why not, in a few words (``timeout after 2 s``, ``HTTP 503``).
    """

    target: str
    ok: bool
    rtt_ms: float | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DeviceResult:
    """One device probed once, its targets combined by its ``any``/``all`` rule."""

    ok: bool
    targets: tuple[TargetResult, ...] = field(default=())

    @property
    def rtt_ms(self) -> float | None:
        times = [t.rtt_ms for t in self.targets if t.ok and t.rtt_ms is not None]
        return min(times) if times else None

    @classmethod
    def combine(cls, match: str, targets: tuple[TargetResult, ...]) -> DeviceResult:
        """Combine target results: ``any`` needs one to answer, ``all`` needs every one."""
        answered = [t.ok for t in targets]
        ok = all(answered) if match == "all" else any(answered)
        return cls(ok=ok and bool(targets), targets=targets)

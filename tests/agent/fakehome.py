"""FakeHome: the supervisor core driven by scripted probe rounds on a fake clock.

Like h11's ConnectionPair: no sockets, no relay, no sleeps; tests state what
each round's probes answer and compare the exact event list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from agent.restart import Plan, Policy, Refusal, Timing
from agent.results import DeviceResult, TargetResult
from agent.supervisor import Decision, DeviceSpec, Supervisor
from protocol import Health

T0 = datetime(2027, 3, 9, 22, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=10)


def result(ok: bool) -> DeviceResult:
    return DeviceResult(ok, (TargetResult("scripted", ok, 1.0 if ok else None),))


@dataclass
class FakeHome:
    """A router and a camera behind it, both with relays, probed every 10 s."""

    policy: Policy = field(
        default_factory=lambda: Policy(
            max_consecutive=3, max_per_24h=6, min_gap_s=60, backoff_base_s=60, backoff_max_s=600
        )
    )
    down_after: int = 3
    arm_after: int = 2
    unseen_attempts: int = 1
    off_time_s: float = 10
    boot_wait_s: float = 60
    now: datetime = T0
    events: list[tuple[str, str]] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)

    def __post_init__(self) -> None:
        specs = {
            "router": DeviceSpec(Timing(self.off_time_s, self.boot_wait_s), relay=True),
            "camera": DeviceSpec(Timing(self.off_time_s, self.boot_wait_s, "router"), relay=True),
        }
        self.sup = Supervisor(
            specs,
            down_after=self.down_after,
            arm_after=self.arm_after,
            unseen_attempts=self.unseen_attempts,
            policy=self.policy,
            now=self.now,
        )

    def round(self, router: bool = True, camera: bool = True) -> None:
        """Advance the clock one interval, tick, then observe one probe round."""
        self.now += INTERVAL
        self._take(self.sup.tick(self.now))
        self._take(self.sup.observe({"router": result(router), "camera": result(camera)}, self.now))

    def rounds(self, n: int, router: bool = True, camera: bool = True) -> None:
        for _ in range(n):
            self.round(router, camera)

    def command(self, device: str) -> Refusal | Plan | None:
        answer = self.sup.request(device, self.now)
        if isinstance(answer, Refusal):
            return answer
        self._take(answer)
        return answer.plan

    def state(self, device: str) -> Health:
        return self.sup.health[device].state

    def take_events(self) -> list[tuple[str, str]]:
        taken, self.events = self.events, []
        return taken

    def _take(self, decision: Decision) -> None:
        self.events += [(e.type.value, e.device) for e in decision.events]
        if decision.plan is not None:
            self.plans.append(decision.plan)

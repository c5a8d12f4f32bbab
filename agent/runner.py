"""The agent's loop: probe, decide, cycle, report.

The shell around :class:`~agent.supervisor.Supervisor`. Every
``probe_interval_s`` (``retry_interval_s`` after a failed round, until the
device is ``down`` or answers again) it probes all devices (one thread each), feeds the
results and the clock to the supervisor, reports the events in order, and
hands a power-cycle plan to a worker thread that runs it on the
:class:`~agent.relay.RelayBank`. State goes to the reporter on every change
and at least every ``heartbeat_s``; what must survive a restart (arming,
budgets, ``failed``) goes to ``gateway.state_file``.

The relays are built by the caller before the runner, first thing at start,
so that they are powered before anything else happens. Stopping (``stop``
set, SIGTERM) ends a running cycle at once with its devices restored.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.errors import RelayError
from agent.health import DeviceEvent
from agent.probes import probe_all
from agent.probes.neighbours import NeighbourTable
from agent.relay import RelayBank
from agent.reporting import CommandOutcome, Reporter
from agent.restart import Plan, Policy, Refusal, Timing
from agent.results import DeviceResult
from agent.settings import AgentConfig
from agent.supervisor import Decision, DeviceSpec, Supervisor
from protocol import DeviceReport, EventType

log = logging.getLogger("driftvakt.agent.runner")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class SteadyClock:
    """Wall time at start plus monotonic time since.

    A Pi has no battery clock: the time daemon may step the wall clock by
    hours after the agent started. Boot waits, gaps and back-offs are decided
    on this clock, which never jumps; reports carry the wall clock.

    :param wall: the wall clock read once, at start.
    :param monotonic: seconds that never go back.
    """

    def __init__(
        self, wall: Clock = utc_now, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._wall, self._start, self._monotonic = wall(), monotonic(), monotonic

    def __call__(self) -> datetime:
        return self._wall + timedelta(seconds=self._monotonic() - self._start)


def build_supervisor(config: AgentConfig, relays: RelayBank, now: datetime) -> Supervisor:
    """The pure core for this configuration; a device has a relay only if the bank drives one."""
    specs = {
        name: DeviceSpec(
            Timing(device.off_time_s, device.boot_wait_s, device.depends_on),
            relay=name in relays.relays,
        )
        for name, device in config.devices.items()
    }
    r = config.restart
    policy = Policy(
        r.max_consecutive,
        r.max_per_24h,
        r.min_gap_s,
        r.backoff_base_s,
        r.backoff_max_s,
        r.restore_stagger_s,
    )
    return Supervisor(
        specs,
        down_after=config.health.down_after,
        arm_after=config.health.arm_after,
        unseen_attempts=config.health.unseen_attempts,
        policy=policy,
        now=now,
    )


class Runner:
    """Runs one gateway's devices until stopped.

    :param relays: built already (devices powered); the runner restores them when it ends.
    :param clock: aware UTC time for decisions; a :class:`SteadyClock` unless injected.
    :param wall: aware UTC time stamped on reports.
    :param neighbours: the neighbour table for targets named by MAC.
    """

    def __init__(
        self,
        config: AgentConfig,
        reporter: Reporter,
        relays: RelayBank,
        *,
        clock: Clock | None = None,
        wall: Clock = utc_now,
        neighbours: NeighbourTable | None = None,
    ) -> None:
        self.config, self.reporter, self.relays = config, reporter, relays
        self.clock, self.wall = clock or SteadyClock(wall), wall
        self.neighbours = neighbours or NeighbourTable(config.gateway.neighbours)
        self.supervisor = build_supervisor(config, relays, self.clock())
        self._load_state()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cycle: threading.Thread | None = None
        self._last_state: dict[str, DeviceReport] | None = None
        self._last_state_at = 0.0

    def run(self, stop: threading.Event | None = None) -> None:
        """Probe and act every interval until stopped; power is restored on every exit.

        :param stop: setting it (a SIGTERM handler does) ends the loop and any running
            cycle at once, its devices restored; defaults to the event :meth:`stop` sets.
        """
        if stop is not None:
            self._stop = stop
        pool = ThreadPoolExecutor(max_workers=len(self.config.devices), thread_name_prefix="probe")
        try:
            while not self._stop.is_set():
                # rounds start on a fixed schedule, however long one takes (a hung device
                # makes it last a probe timeout); after a failed round the next comes at the
                # retry interval, so a hang is confirmed within
                # probe_interval + (down_after - 1) x retry_interval + a probe timeout
                began = time.monotonic()
                self.round(pool)
                self._wait(began + self.next_round_in())
        finally:
            self._stop.set()
            if self._cycle is not None:
                self._cycle.join()
            pool.shutdown(wait=False, cancel_futures=True)
            self.relays.restore_all()

    def round(self, pool: ThreadPoolExecutor) -> dict[str, DeviceResult]:
        """One probe round: probe every device, then decide and act."""
        began = self.clock()
        results = probe_all(self.config.devices, self.neighbours, pool)
        with self._lock:
            now = self.clock()
            self._act(self.supervisor.tick(now), now)
            self._act(self.supervisor.observe(results, now, probed_at=began), now)
        return results

    def next_round_in(self) -> float:
        """Seconds from one round's start to the next's: sooner while a failure is confirmed."""
        gateway = self.config.gateway
        with self._lock:
            confirming = self.supervisor.confirming()
        return gateway.retry_interval_s if confirming else gateway.probe_interval_s

    def power_cycle(self, device: str, now: datetime) -> CommandOutcome:
        """A ``power_cycle`` command (see :class:`agent.reporting.CommandTarget`).

        The budget is judged on the runner's steady clock, not on ``now`` (the wall
        time the link judged the command's expiry by): the two differ after a clock step.
        """
        with self._lock:
            if self._cycle is not None and self._cycle.is_alive():
                return CommandOutcome(False, "a power cycle is running already")
            now = self.clock()
            answer = self.supervisor.request(device, now)
            if isinstance(answer, Refusal):
                return CommandOutcome(False, answer.reason)
            self._act(answer, now)
        assert answer.plan is not None
        return CommandOutcome(True, "power cycle started: " + ", ".join(answer.plan.devices))

    def probe_now(self) -> CommandOutcome:
        """A ``probe_now`` command: the next round starts at once."""
        self._wake.set()
        return CommandOutcome(True, "probing now")

    def stop(self) -> None:
        """End :meth:`run` and any running cycle now (devices restored)."""
        self._stop.set()

    def snapshot(self) -> dict[str, DeviceReport]:
        """The devices' state now, for the heartbeat."""
        with self._lock:
            return self.supervisor.snapshot(self.clock())

    def _wait(self, due: float) -> None:
        """Until ``due`` (monotonic); ends early on stop or ``probe_now``, ticking every second."""
        while (left := due - time.monotonic()) > 0:
            if self._stop.wait(min(left, 1.0)):
                return
            if self._wake.is_set():
                self._wake.clear()
                return
            with self._lock:
                now = self.clock()
                self._act(self.supervisor.tick(now), now)

    def _act(self, decision: Decision, now: datetime) -> None:
        for event in decision.events:
            self._report(event)
        if decision.plan is not None:
            self._start_cycle(decision.plan)
        if decision.events or decision.plan:
            self._save_state()
        self._publish_state(now)

    def _report(self, event: DeviceEvent) -> None:
        log.info("%s %s %s", event.device, event.type.value, dict(event.detail))
        self.reporter.event(event.type, event.device, event.detail, self.wall())

    def _publish_state(self, now: datetime) -> None:
        state = self.supervisor.snapshot(now)
        heartbeat_due = time.monotonic() - self._last_state_at >= self.config.gateway.heartbeat_s
        changed = self._last_state is None or any(
            (s.health, s.since) != (self._last_state[n].health, self._last_state[n].since)
            for n, s in state.items()
        )
        if changed or heartbeat_due:
            self._last_state, self._last_state_at = state, time.monotonic()
            self.reporter.state(state, self.wall())

    def _start_cycle(self, plan: Plan) -> None:
        self._cycle = threading.Thread(target=self._run_cycle, args=(plan,), name="relay-cycle")
        self._cycle.start()

    def _run_cycle(self, plan: Plan) -> None:
        try:
            self.relays.run(plan, self._stop)
        except RelayError as exc:
            log.error("relay fault during %s: %s", plan.devices, exc)
            for device in plan.devices:
                self.reporter.event(EventType.RELAY_FAULT, device, {"error": str(exc)}, self.wall())

    def _load_state(self) -> None:
        path = self.config.gateway.state_file
        try:
            self.supervisor.restore(json.loads(path.read_text()))
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable state file %s: %s", path, exc)

    def _save_state(self) -> None:
        path: Path = self.config.gateway.state_file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            with tmp.open("w") as f:
                json.dump(self.supervisor.export(), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("cannot save state to %s: %s", path, exc)

"""Scenario files: what fails where and when (docs/demo.md, "Scenario files").

A scenario is a TOML file::

    name = "One afternoon and night"
    start = "2027-01-12 13:55"            # Europe/Stockholm; --start overrides it

    [areas]
    fittja = ["gw-11", "gw-12", "gw-13", "gw-14", "gw-15"]

    [[events]]
    at = "14:00"                           # the first 14:00 after the previous event
    homes = ["gw-03"]
    do = "hang"
    device = "camera"
    say = "The camera in gw-03 hangs; its agent should fix it with the relay."

``at`` is a local wall-clock time ``HH:MM``, meaning its first occurrence at
or after the previous event (so a night runs past midnight in order), a
full ``YYYY-MM-DD HH:MM``, or ``+10m`` after the start (for a real-time
run). ``do`` is one of :data:`ACTIONS`. Homes are named by ``homes``, by
``area`` (a list in ``[areas]``) or both.

:class:`ScenarioRunner` waits on the shared clock and applies each event to a
:class:`Target` (the fleet, and the broker where the simulator owns it).
Pure parts (:func:`parse_scenario`, :func:`schedule`) take no clock.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.clock import STOCKHOLM, ScaledClock, parse_local
from sim.devices import Mode
from sim.errors import SimError
from sim.fleet import Fleet

Action = Literal[
    "hang", "dead", "flapping", "repair", "power_off", "power_on", "broker_restart", "ack", "say"
]
ACTIONS: tuple[str, ...] = get_args(Action)
"""``hang``/``dead``/``flapping``: a device fails that way; ``repair``: someone fixes or
swaps the device and plugs it in again; ``power_off``/``power_on``: the homes lose and
regain mains power (gateway included); ``broker_restart``: the broker is down for
``down`` (clock time); ``ack``: staff of ``role`` acknowledge their open tasks on the
dashboard (only where the simulator has a staff account); ``say``: only narration."""
_DEVICE_ACTIONS = frozenset({"hang", "dead", "flapping", "repair"})
_HOME_ACTIONS = _DEVICE_ACTIONS | {"power_off", "power_on"}
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventSpec(_Model):
    at: str
    do: Action
    role: str | None = None
    homes: list[str] = Field(default_factory=list)
    area: str | None = None
    device: Literal["router", "camera"] | None = None
    down: str = "2m"
    say: str = ""

    @field_validator("down")
    @classmethod
    def _down(cls, value: str) -> str:
        duration(value)
        return value


class ScenarioSpec(_Model):
    name: str = "scenario"
    start: str | None = None
    areas: dict[str, list[str]] = Field(default_factory=dict)
    events: Annotated[list[EventSpec], Field(min_length=1)]


@dataclass(frozen=True, slots=True)
class Step:
    """One event at its resolved time, with the homes it touches."""

    when: datetime
    do: str
    homes: tuple[str, ...]
    device: str | None
    down: timedelta
    say: str
    role: str | None = None


def duration(text: str) -> timedelta:
    """``"90s"``, ``"2m"``, ``"1h"``.

    :raises ValueError: otherwise, with the form to use.
    """
    unit = _DURATION_UNITS.get(text[-1:])
    try:
        amount = float(text[:-1])
    except ValueError:
        amount = -1
    if unit is None or amount < 0:
        raise ValueError(f"{text!r} is not a duration; write e.g. 90s, 2m or 1h")
    return timedelta(seconds=amount * unit)


def parse_scenario(text: str, source: str = "<scenario>") -> ScenarioSpec:
    """Validate a scenario document.

    :raises SimError: naming every bad key with its value and the fix.
    """
    try:
        spec = ScenarioSpec.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise SimError(f"{source}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(p) for p in err["loc"])
            fix = "remove it (see docs/demo.md)" if err["type"] == "extra_forbidden" else ""
            lines.append(f"  {where} = {err.get('input')!r}: {err['msg']} {fix}".rstrip())
        raise SimError(f"{source}: bad scenario:\n" + "\n".join(lines)) from None
    problems = _reference_problems(spec)
    if problems:
        raise SimError(f"{source}: bad scenario:\n" + "\n".join(problems))
    return spec


def load_scenario(path: Path) -> ScenarioSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SimError(f"cannot read scenario {path}: {exc.strerror}") from None
    return parse_scenario(text, str(path))


def _reference_problems(spec: ScenarioSpec) -> list[str]:
    problems = []
    for index, event in enumerate(spec.events):
        key = f"  events.{index}"
        if event.area is not None and event.area not in spec.areas:
            problems.append(f"{key}.area = {event.area!r}: no such area; define it in [areas]")
        targeted = bool(event.homes or event.area)
        if event.do in _HOME_ACTIONS and not targeted:
            problems.append(f"{key}.do = {event.do!r}: give homes or area")
        if event.do == "ack" and event.role is None:
            problems.append(f"{key}.role: 'ack' needs the role whose tasks are acknowledged")
        if event.do in _DEVICE_ACTIONS and event.device is None:
            problems.append(f"{key}.device: {event.do!r} needs device = router or camera")
        try:
            _time_of(event.at)
        except SimError as exc:
            problems.append(f"{key}.at = {event.at!r}: {exc}")
    return problems


def _time_of(text: str) -> time | datetime | timedelta:
    try:
        if text.startswith("+"):
            return duration(text[1:])
        return time.fromisoformat(text) if len(text) <= 5 else parse_local(text)
    except (ValueError, SimError):
        raise SimError("write HH:MM, YYYY-MM-DD HH:MM (Europe/Stockholm) or +10m") from None


def schedule(spec: ScenarioSpec, start: datetime, homes: Sequence[str]) -> list[Step]:
    """The events at their times from ``start`` on, for a fleet of ``homes``.

    :raises SimError: an event names a home the fleet does not have.
    """
    steps, previous = [], start
    for index, event in enumerate(spec.events):
        when = _resolve(_time_of(event.at), previous, start)
        targets = tuple(dict.fromkeys([*event.homes, *spec.areas.get(event.area or "", [])]))
        unknown = [h for h in targets if h not in homes]
        if unknown:
            raise SimError(
                f"events.{index}: no home {', '.join(unknown)} in a fleet of {len(homes)}; "
                "use more --homes or other gateway ids"
            )
        down = duration(event.down)
        steps.append(Step(when, event.do, targets, event.device, down, event.say, event.role))
        previous = when
    return steps


def _resolve(at: time | datetime | timedelta, after: datetime, start: datetime) -> datetime:
    if isinstance(at, timedelta):
        return start + at
    if isinstance(at, datetime):
        return at
    local = after.astimezone(STOCKHOLM)
    candidate = datetime.combine(local.date(), at, STOCKHOLM)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, STOCKHOLM)
    return candidate


class Target(Protocol):
    """What a scenario acts on."""

    def apply(self, step: Step) -> None: ...


class ScenarioRunner:
    """Applies the steps on time, on its own thread.

    :meth:`stop` ends the story (no more steps); :meth:`close` also ends the thread.
    The thread lives until :meth:`close` because a broker it restarted dies with it
    (:mod:`sim.broker` uses ``PR_SET_PDEATHSIG``): close it after whatever needs the broker.

    :param on_step: called before each step is applied (the demo prints it).
    """

    def __init__(
        self,
        steps: Sequence[Step],
        clock: ScaledClock,
        target: Target,
        on_step: Callable[[Step], None] = lambda _s: None,
    ) -> None:
        self.steps, self.clock, self.target, self.on_step = list(steps), clock, target, on_step
        self.done = threading.Event()
        self._stop = threading.Event()
        self._end = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scenario", daemon=True)

    def start(self) -> ScenarioRunner:
        self._thread.start()
        return self

    def stop(self) -> None:
        """No more steps (one being applied finishes first)."""
        self._stop.set()

    def close(self) -> None:
        """Stop and end the thread; safe to call again."""
        self._stop.set()
        self._end.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            for step in self.steps:
                while (wait := self.clock.real_seconds_until(step.when)) > 0:
                    if self._stop.wait(min(wait, 1.0)):
                        return
                if self._stop.is_set():
                    return
                self.on_step(step)
                self.target.apply(step)
            self.done.set()
        finally:
            self._end.wait()


class FleetTarget:
    """Applies steps to a :class:`~sim.fleet.Fleet`.

    :param restart_broker: stops the broker for the given clock time and starts it
        again; ``None`` when the simulator does not own the broker (the step is skipped).
    :param acknowledge: acknowledges the open tasks of a role; ``None`` skips ``ack``.
    """

    def __init__(
        self,
        fleet: Fleet,
        restart_broker: Callable[[timedelta], None] | None = None,
        acknowledge: Callable[[str], None] | None = None,
    ) -> None:
        self.fleet, self.restart_broker, self.acknowledge = fleet, restart_broker, acknowledge

    def apply(self, step: Step) -> None:
        if step.do == "broker_restart":
            if self.restart_broker is not None:
                self.restart_broker(step.down)
            return
        if step.do == "ack":
            if self.acknowledge is not None and step.role is not None:
                self.acknowledge(step.role)
            return
        if step.do == "power_off":
            self.fleet.power_off(step.homes)
        elif step.do == "power_on":
            self.fleet.power_on(step.homes)
        for gateway in step.homes:
            home = self.fleet[gateway]
            if step.do == "repair":
                assert step.device is not None
                home.replace(step.device)
            elif step.do in _DEVICE_ACTIONS:
                assert step.device is not None
                home.set_mode(step.device, Mode(step.do))

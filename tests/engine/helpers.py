"""A scripted fleet for engine tests (h11's ``ConnectionPair`` idea): build
real protocol messages, feed them with arrival times, let timers fire in
order, and collect the decisions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from central.engine import Decision, Effect, Engine, GatewayMessage, Input, Notification
from central.policy import Policy, load_policy
from central.registry import Home, Registry, read_registry_csv
from protocol import Message, parse

TENANT = "botkyrka"
HEADER = "gateway,homecare_group,night_checks,active,relay,camera_serial,router_serial,visit_plan\n"


STOCKHOLM = ZoneInfo("Europe/Stockholm")
DEFAULT_POLICY = load_policy()


def utc(text: str) -> datetime:
    """``"2027-03-09 22:00"`` read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str) -> datetime:
    """``"2027-03-09 22:00"`` read as Europe/Stockholm wall clock (``fold=0``), as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM).astimezone(UTC)


def show(when: datetime | None) -> str | None:
    """A UTC time as Stockholm wall clock, for readable tables."""
    return when.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M") if when else None


def registry(rows: list[str]) -> Registry:
    result = read_registry_csv(HEADER + "\n".join(rows) + "\n")
    assert result.ok, result.problems
    return Registry(result.homes)


def homes(n: int, checks: str = "22:30 01:30 04:30", **kw: str) -> Registry:
    extra = kw.get("active", "yes")
    return registry([f"gw-{i:04d},grupp-a,{checks},{extra},yes,CAM{i},RTR{i}," for i in range(n)])


def _msg(topic: str, payload: Any) -> Message:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    parsed = parse(topic, raw)
    assert isinstance(parsed, Message), parsed
    return parsed


def snapshot(
    gw: str,
    camera: str = "up",
    router: str = "up",
    *,
    seq: int = 0,
    heartbeat_s: int = 30,
    relay: bool = True,
    boot: str = "boot1",
) -> Message:
    ts = "2020-01-01T00:00:00Z"  # the gateway's clock is never trusted
    devices = {
        "router": {"health": router, "since": ts, "auto_restart": relay},
        "camera": {"health": camera, "since": ts, "auto_restart": relay},
    }
    body = {
        "v": 1,
        "ts": ts,
        "boot": boot,
        "seq": seq,
        "agent": "0.1.0",
        "uptime_s": 1,
        "heartbeat_s": heartbeat_s,
        "devices": devices,
    }
    return _msg(f"driftvakt/v1/{TENANT}/{gw}/state", body)


def event(
    gw: str,
    kind: str,
    device: str | None = "camera",
    *,
    id: str = "",
    seq: int = 1,
    detail: dict[str, Any] | None = None,
) -> Message:
    body: dict[str, Any] = {
        "v": 1,
        "id": id or f"ev-{gw}-{kind}-{seq}",
        "ts": "2020-01-01T00:00:00Z",
        "boot": "boot1",
        "seq": seq,
        "type": kind,
        "detail": detail or {},
    }
    if device:
        body["device"] = device
    return _msg(f"driftvakt/v1/{TENANT}/{gw}/events", body)


def availability(gw: str, value: str) -> Message:
    return _msg(f"driftvakt/v1/{TENANT}/{gw}/availability", value.encode())


@dataclass
class Run:
    """Feeds inputs in time order, firing timers between them."""

    registry: Registry
    policy: Policy = field(default_factory=lambda: DEFAULT_POLICY)
    effects: list[Effect] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine = Engine(self.policy, self.registry)
        self.health: dict[str, tuple[str, str]] = {}
        self.seq = 0
        self.clock: datetime | None = None

    def report(
        self,
        when: datetime,
        gw: str,
        camera: str = "up",
        router: str = "up",
        heartbeat_s: int = 3600,
    ) -> Run:
        """A state snapshot from ``gw``; later heartbeats repeat this health."""
        self.health[gw] = (camera, router)
        self.seq += 1
        return self.at(when, snapshot(gw, camera, router, seq=self.seq, heartbeat_s=heartbeat_s))

    def event(
        self, when: datetime, gw: str, kind: str, device: str | None = "camera", **kw: Any
    ) -> Run:
        """An event from ``gw``, numbered after everything sent before (PROTOCOL.md ``seq``)."""
        self.seq += 1
        return self.at(when, event(gw, kind, device, seq=self.seq, **kw))

    def alive(
        self,
        start: datetime,
        end: datetime,
        every: timedelta = timedelta(minutes=50),
        skip: tuple[str, ...] = (),
    ) -> Run:
        """Heartbeats (``heartbeat_s`` 3600) from every reported gateway, ``start`` to ``end``."""
        t = start
        while t < end:
            for gw, (camera, router) in sorted(self.health.items()):
                if gw not in skip:
                    self.report(t, gw, camera, router)
            t += every
        return self.until(end)

    def at(self, when: datetime, *messages: Message) -> Run:
        self.effects += self.engine.run_until(when, inclusive=False)
        for m in messages:
            self.effects += self.engine.handle(GatewayMessage(at=when, message=m))
        return self

    def feed(self, item: Input) -> Run:
        self.effects += self.engine.run_until(item.at, inclusive=False)
        self.effects += self.engine.handle(item)
        return self

    def until(self, when: datetime) -> Run:
        self.effects += self.engine.run_until(when)
        return self

    def heartbeats(
        self, gws: list[str], start: datetime, end: datetime, step_s: int = 30, **kw: Any
    ) -> Run:
        """Every gateway reports every ``step_s`` from ``start`` up to ``end``."""
        t, seq = start, 0
        while t < end:
            self.at(t, *[snapshot(g, seq=seq, **kw) for g in gws])
            t += timedelta(seconds=step_s)
            seq += 1
        return self

    @property
    def decisions(self) -> list[Decision]:
        return [e for e in self.effects if isinstance(e, Decision)]

    @property
    def notifications(self) -> list[Notification]:
        return [e for e in self.effects if isinstance(e, Notification)]

    def rows(self, *events: str) -> list[tuple[str, str | None, str | None, str]]:
        """(at HH:MM UTC, role, action, event) of decisions, optionally filtered by event."""
        return [
            (d.at.strftime("%m-%d %H:%M"), d.role, d.action, d.event.value)
            for d in self.decisions
            if not events or d.event.value in events
        ]

    def tasks(self, action: str | None = None) -> list[Decision]:
        return [
            d
            for d in self.decisions
            if d.event.value == "task_created" and (action is None or d.action == action)
        ]

    def table(self, *events: str) -> list[tuple[Any, ...]]:
        """(local time, event, role, action, local check) rows, for table tests."""
        picked = [d for d in self.decisions if not events or d.event.value in events]
        return self.rows_of(picked)

    @staticmethod
    def rows_of(decisions: list[Decision]) -> list[tuple[Any, ...]]:
        return [(show(d.at), d.event.value, d.role, d.action, show(d.check)) for d in decisions]


__all__ = [
    "Home",
    "Run",
    "availability",
    "event",
    "homes",
    "local",
    "registry",
    "show",
    "snapshot",
    "utc",
]

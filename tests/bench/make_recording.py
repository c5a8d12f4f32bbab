"""A synthetic recording for ``replay``: a fleet's night as MQTT lines with
arrival times (docs/replay.md), plus the registry CSV it needs.

Every home sends a state snapshot every ``heartbeat_s`` (staggered). A few
per cent of homes lose their camera: ``device_down``, restart attempts, then
``restart_exhausted``; half of them come back later. One cluster of homes
fails within minutes (an extensive outage), some gateways go offline, and
some events are sent twice (the outbox resends). Deterministic for a seed.

Run: ``python -m tests.bench.make_recording --homes 2000 --messages 100000 OUT_DIR``
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TENANT = "botkyrka"
START = datetime(2027, 3, 9, 19, 0, tzinfo=UTC)  # 20:00 Stockholm, a Tuesday
TS = "2020-01-01T00:00:00Z"  # the gateway's clock: never used for decisions


@dataclass
class _Home:
    gateway: str
    fails_at: datetime | None = None
    back_at: datetime | None = None
    offline_at: datetime | None = None

    def camera(self, at: datetime) -> str:
        if self.fails_at is None or at < self.fails_at:
            return "up"
        if self.back_at is not None and at >= self.back_at:
            return "up"
        return "failed" if at >= self.fails_at + timedelta(minutes=5) else "down"


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _seq(at: datetime) -> int:
    """The agent numbers what it sends in order: tenths of a second since START will do."""
    return int((at - START).total_seconds() * 10)


def _line(at: datetime, gateway: str, kind: str, payload: Any) -> tuple[datetime, str]:
    topic = f"driftvakt/v1/{TENANT}/{gateway}/{kind}"
    if isinstance(payload, dict):
        payload["seq"] = _seq(at)
    return at, json.dumps({"at": _time(at), "topic": topic, "payload": payload})


def registry_csv(homes: int) -> str:
    rows = ["gateway,homecare_group,night_checks,active,camera_serial,router_serial"]
    for i in range(homes):
        checks = ("22:30 01:30 04:30", "23:00 03:00", "21:45 00:45 03:45 06:15")[i % 3]
        active = "no" if i % 97 == 0 else "yes"
        rows.append(f"gw-{i:05d},grupp-{i % 40:02d},{checks},{active},CAM-{i:05d},RTR-{i:05d}")
    return "\n".join(rows) + "\n"


def _plan(homes: int, rng: random.Random, hours: float) -> list[_Home]:
    fleet = [_Home(f"gw-{i:05d}") for i in range(homes)]
    span = int(hours * 3600)
    for home in rng.sample(fleet, max(1, homes // 40)):
        home.fails_at = START + timedelta(seconds=rng.randrange(600, span))
        if rng.random() < 0.5:
            home.back_at = home.fails_at + timedelta(minutes=rng.randrange(20, 120))
    cluster_at = START + timedelta(seconds=span // 2)
    for k, home in enumerate(fleet[5 : 5 + max(3, homes // 200)]):
        home.fails_at, home.back_at = cluster_at + timedelta(minutes=k % 10), None
    for home in rng.sample(fleet, max(1, homes // 200)):
        home.offline_at = START + timedelta(seconds=rng.randrange(600, span))
    return fleet


def _events(home: _Home, seq: int) -> list[tuple[datetime, str]]:
    out: list[tuple[datetime, str]] = []
    if home.fails_at is None:
        return out
    steps = [
        (0, "device_down"),
        (30, "restart_started"),
        (120, "restart_failed"),
        (300, "restart_exhausted"),
    ]
    for offset, kind in steps:
        at = home.fails_at + timedelta(seconds=offset)
        body = {
            "v": 1,
            "id": f"{home.gateway}-{kind}",
            "ts": TS,
            "boot": "b1",
            "seq": seq + offset,
            "type": kind,
            "device": "camera",
            "detail": {},
        }
        out.append(_line(at, home.gateway, "events", body))
        if kind == "restart_exhausted":  # the outbox resends: a duplicate
            out.append(_line(at + timedelta(seconds=2), home.gateway, "events", body))
    if home.back_at is not None:
        body = {
            "v": 1,
            "id": f"{home.gateway}-up",
            "ts": TS,
            "boot": "b1",
            "seq": seq + 999,
            "type": "device_up",
            "device": "camera",
            "detail": {},
        }
        out.append(_line(home.back_at, home.gateway, "events", body))
    return out


def _snapshot(home: _Home, at: datetime, seq: int, heartbeat_s: int) -> tuple[datetime, str]:
    devices = {
        "router": {"health": "up", "since": TS},
        "camera": {"health": home.camera(at), "since": TS},
    }
    body = {
        "v": 1,
        "ts": TS,
        "boot": "b1",
        "seq": seq,
        "agent": "0.1.0",
        "uptime_s": seq,
        "heartbeat_s": heartbeat_s,
        "time_synced": True,
        "devices": devices,
    }
    return _line(at, home.gateway, "state", body)


def make_recording(homes: int, messages: int, seed: int = 1, heartbeat_s: int = 600) -> list[str]:
    """``messages`` recording lines from ``homes`` homes, in arrival order."""
    rng = random.Random(seed)
    hours = messages / homes * heartbeat_s / 3600
    fleet = _plan(homes, rng, hours)
    lines: list[tuple[datetime, str]] = []
    for home in fleet:
        lines.append(_line(START, home.gateway, "availability", "online"))
        lines += _events(home, 10_000)
        at, seq = START + timedelta(milliseconds=rng.randrange(5000)), 0
        while at < START + timedelta(hours=hours):
            if home.offline_at is not None and at >= home.offline_at:
                lines.append(_line(home.offline_at, home.gateway, "availability", "offline"))
                break
            lines.append(_snapshot(home, at, seq, heartbeat_s))
            jitter = timedelta(seconds=heartbeat_s if seq else rng.randrange(heartbeat_s))
            at, seq = at + jitter, seq + 1
    lines.sort(key=lambda pair: pair[0])
    return [text for _, text in lines[:messages]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--homes", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("out", type=Path, help="directory for registry.csv and messages.jsonl")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "registry.csv").write_text(registry_csv(args.homes))
    lines = make_recording(args.homes, args.messages, args.seed)
    (args.out / "messages.jsonl").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} lines for {args.homes} homes to {args.out}")


if __name__ == "__main__":
    main()

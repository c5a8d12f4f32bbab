"""Fleet state: what central last heard from each gateway, by receive time.

Kept in memory, where ingest can apply tens of thousands of snapshots a
second, and written behind to the ``gateways`` table every few seconds (and
at shutdown) for the dashboard and for other processes. After a restart it
is rebuilt from the retained ``availability`` and ``state`` messages that
the broker hands a new subscription (PROTOCOL.md), then from the table.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.store import Gateway, Store
from protocol import Availability, StateSnapshot, format_time

SILENT_AFTER = 2
"""Heartbeats missed before a gateway shows as silent on the board (the engine
applies the policy's own grace before opening an incident)."""


@dataclass(slots=True)
class GatewayState:
    tenant: str
    gateway: str
    availability: str | None = None
    availability_at: datetime | None = None
    state_at: datetime | None = None
    heartbeat_s: int | None = None
    boot: str | None = None
    seq: int | None = None
    time_synced: bool | None = None
    stored_devices: dict[str, Any] = field(default_factory=dict)
    snapshot: StateSnapshot | None = None

    @property
    def devices(self) -> dict[str, Any]:
        """Health per device, from the newest snapshot (or the table, after a restart)."""
        if self.snapshot is None:
            return self.stored_devices
        return {
            name: {
                "health": d.health.value,
                "since": format_time(d.since),
                "auto_restart": d.auto_restart,
                "restarts_24h": d.restarts_24h,
            }
            for name, d in self.snapshot.devices.items()
        }

    def liveness(self, now: datetime) -> str:
        """``online``, ``offline`` or ``silent`` (no heartbeat for ``SILENT_AFTER`` periods)."""
        if self.availability == Availability.OFFLINE:
            return "offline"
        if self.state_at is None or self.heartbeat_s is None:
            return "online" if self.availability == Availability.ONLINE else "unknown"
        late = now - self.state_at > timedelta(seconds=SILENT_AFTER * self.heartbeat_s)
        return "silent" if late else "online"

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "gateway": self.gateway,
            "liveness": self.liveness(now),
            "availability": self.availability,
            "last_state": self.state_at,
            "heartbeat_s": self.heartbeat_s,
            "time_synced": self.time_synced,
            "devices": self.devices,
        }


class Fleet:
    """Thread-safe map of gateway states with a dirty set for the write-behind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gateways: dict[tuple[str, str], GatewayState] = {}
        self._dirty: set[tuple[str, str]] = set()

    def _entry(self, tenant: str, gateway: str) -> GatewayState:
        key = (tenant, gateway)
        entry = self._gateways.get(key)
        if entry is None:
            entry = self._gateways[key] = GatewayState(tenant, gateway)
        self._dirty.add(key)
        return entry

    def availability(self, tenant: str, gateway: str, value: Availability, at: datetime) -> None:
        with self._lock:
            entry = self._entry(tenant, gateway)
            entry.availability, entry.availability_at = value.value, at

    def state(self, tenant: str, gateway: str, snapshot: StateSnapshot, at: datetime) -> None:
        """Apply one snapshot; the devices are turned into plain data only when read."""
        with self._lock:
            entry = self._entry(tenant, gateway)
            entry.state_at, entry.heartbeat_s = at, snapshot.heartbeat_s
            entry.boot, entry.seq, entry.time_synced = (
                snapshot.boot,
                snapshot.seq,
                snapshot.time_synced,
            )
            entry.snapshot = snapshot

    def all(self, tenant: str | None = None) -> list[GatewayState]:
        with self._lock:
            return [
                g for (t, _), g in sorted(self._gateways.items()) if tenant is None or t == tenant
            ]

    def load(self, session: Session) -> None:
        """Start from what the table holds (retained messages will then refresh it)."""
        with self._lock:
            for row in session.scalars(select(Gateway)):
                self._gateways[(row.tenant, row.gateway)] = GatewayState(
                    row.tenant,
                    row.gateway,
                    row.availability,
                    row.availability_at,
                    row.state_at,
                    row.heartbeat_s,
                    row.boot,
                    row.seq,
                    row.time_synced,
                    dict(row.devices),
                )

    def flush(self, store: Store) -> int:
        """Write the changed gateways in one transaction; returns how many.

        On failure they stay dirty for the next flush.
        """
        with self._lock:
            dirty = [self._gateways[k] for k in self._dirty]
            self._dirty.clear()
        try:
            with store.session() as session:
                _write(session, dirty)
        except Exception:
            with self._lock:
                self._dirty.update((g.tenant, g.gateway) for g in dirty)
            raise
        return len(dirty)


def _write(session: Session, dirty: list[GatewayState]) -> None:
    for g in dirty:
        row = session.get(Gateway, (g.tenant, g.gateway))
        if row is None:
            row = Gateway(tenant=g.tenant, gateway=g.gateway)
            session.add(row)
        row.availability, row.availability_at = g.availability, g.availability_at
        row.state_at, row.heartbeat_s, row.boot, row.seq = g.state_at, g.heartbeat_s, g.boot, g.seq
        row.time_synced, row.devices = g.time_synced, dict(g.devices)

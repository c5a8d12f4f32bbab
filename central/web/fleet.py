"""The fleet board's read model: every home, its devices and one state for the eye.

``home_state`` is pure (it takes ``now``); ``fleet`` reads the registry and
what central last heard from each gateway. A gateway counts as silent here
after three missed heartbeats (90 s at least); the engine's own grace before a
silent gateway becomes an outage is longer and is the policy's (ROUTINE.md).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.store.models import Gateway, Home

STATES: dict[str, str] = {
    "atgard": "Kräver åtgärd",
    "stord": "Störning",
    "tyst": "Tyst",
    "okand": "Okänd",
    "ok": "OK",
    "pausad": "Pausad",
}
"""State id to its Swedish name, worst first (the board's sort order)."""

HEALTH_NAMES: dict[str, str] = {
    "up": "fungerar",
    "down": "nere",
    "unreachable": "nås ej",
    "restarting": "startas om",
    "failed": "omstart misslyckad",
    "unknown": "okänd",
}

_MIN_SILENCE = timedelta(seconds=90)


class HomeLike(Protocol):
    """A registry row (ORM object or a plain row of its columns)."""

    @property
    def tenant(self) -> str: ...
    @property
    def gateway(self) -> str: ...
    @property
    def homecare_group(self) -> str: ...
    @property
    def active(self) -> bool: ...
    @property
    def label(self) -> str | None: ...


class GatewayLike(Protocol):
    """What central last heard from a gateway (ORM object or a plain row)."""

    @property
    def tenant(self) -> str: ...
    @property
    def gateway(self) -> str: ...
    @property
    def availability(self) -> str | None: ...
    @property
    def availability_at(self) -> datetime | None: ...
    @property
    def state_at(self) -> datetime | None: ...
    @property
    def heartbeat_s(self) -> int | None: ...
    @property
    def devices(self) -> dict[str, Any]: ...


HOME_COLUMNS = (Home.tenant, Home.gateway, Home.homecare_group, Home.active, Home.label)
GATEWAY_COLUMNS = (
    Gateway.tenant,
    Gateway.gateway,
    Gateway.availability,
    Gateway.availability_at,
    Gateway.state_at,
    Gateway.heartbeat_s,
    Gateway.devices,
)


@dataclass(frozen=True, slots=True)
class DeviceView:
    name: str
    health: str
    since: datetime | None
    restarts_24h: int
    auto_restart: bool


@dataclass(frozen=True, slots=True)
class HomeRow:
    """One home on the board. ``label`` is ``None`` unless the viewer may see labels."""

    tenant: str
    gateway: str
    group: str
    label: str | None
    active: bool
    registered: bool
    state: str
    availability: str | None
    last_heard: datetime | None
    devices: tuple[DeviceView, ...]
    restarts_24h: int

    def device(self, name: str) -> DeviceView | None:
        return next((d for d in self.devices if d.name == name), None)

    def public(self) -> dict[str, Any]:
        """The API form (times in RFC 3339 by the caller's encoder)."""
        return {
            "tenant": self.tenant,
            "gateway": self.gateway,
            "homecare_group": self.group,
            "label": self.label,
            "active": self.active,
            "registered": self.registered,
            "state": self.state,
            "availability": self.availability,
            "last_heard": self.last_heard,
            "restarts_24h": self.restarts_24h,
            "devices": {
                d.name: {
                    "health": d.health,
                    "since": d.since,
                    "restarts_24h": d.restarts_24h,
                    "auto_restart": d.auto_restart,
                }
                for d in self.devices
            },
        }


@dataclass(frozen=True, slots=True)
class Fleet:
    rows: list[HomeRow]
    counts: Counter[str] = field(default_factory=Counter)
    groups: list[str] = field(default_factory=list)


def silent(gateway: GatewayLike, now: datetime) -> bool:
    """Whether the gateway said ``offline`` or missed three heartbeats."""
    if gateway.availability == "offline":
        return True
    if gateway.state_at is None:
        return gateway.availability != "online"
    allowed = max(timedelta(seconds=3 * (gateway.heartbeat_s or 30)), _MIN_SILENCE)
    return now - gateway.state_at > allowed


def home_state(home: HomeLike | None, gateway: GatewayLike | None, now: datetime) -> str:
    """One state id of :data:`STATES` for a home, from what was last heard."""
    if home is not None and not home.active:
        return "pausad"
    if gateway is None or (gateway.state_at is None and gateway.availability is None):
        return "okand"
    if silent(gateway, now):
        return "tyst"
    healths = {str(d.get("health", "unknown")) for d in (gateway.devices or {}).values()}
    if "failed" in healths:
        return "atgard"
    if healths & {"down", "unreachable", "restarting"}:
        return "stord"
    if not healths or "unknown" in healths:
        return "okand"
    return "ok"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _devices(gateway: GatewayLike | None) -> tuple[DeviceView, ...]:
    if gateway is None:
        return ()
    views = [
        DeviceView(
            name=name,
            health=str(data.get("health", "unknown")),
            since=_parse_time(data.get("since")),
            restarts_24h=int(data.get("restarts_24h") or 0),
            auto_restart=bool(data.get("auto_restart", True)),
        )
        for name, data in sorted((gateway.devices or {}).items())
        if isinstance(data, dict)
    ]
    return tuple(sorted(views, key=lambda d: (d.name != "router", d.name)))


def home_row(
    home: HomeLike | None, gateway: GatewayLike | None, now: datetime, labels: bool
) -> HomeRow:
    devices = _devices(gateway)
    some = home or gateway
    assert some is not None
    return HomeRow(
        tenant=some.tenant,
        gateway=some.gateway,
        group=home.homecare_group if home else "",
        label=(home.label if home and labels else None),
        active=home.active if home else True,
        registered=home is not None,
        state=home_state(home, gateway, now),
        availability=gateway.availability if gateway else None,
        last_heard=_last_heard(gateway),
        devices=devices,
        restarts_24h=sum(d.restarts_24h for d in devices),
    )


def _last_heard(gateway: GatewayLike | None) -> datetime | None:
    if gateway is None:
        return None
    times = [t for t in (gateway.state_at, gateway.availability_at) if t is not None]
    return max(times) if times else None


def _load(session: Session) -> tuple[dict[tuple[str, str], Any], dict[tuple[str, str], Any]]:
    """Only the columns the board shows, as plain rows (no ORM objects: 2,000 homes)."""
    registry = {(h.tenant, h.gateway): h for h in session.execute(select(*HOME_COLUMNS))}
    heard = {(g.tenant, g.gateway): g for g in session.execute(select(*GATEWAY_COLUMNS))}
    return registry, heard


def homes(session: Session, now: datetime, *, labels: bool) -> list[HomeRow]:
    """Every registered home and every gateway heard from, unsorted."""
    registry, heard = _load(session)
    keys = registry.keys() | heard.keys()
    return [home_row(registry.get(k), heard.get(k), now, labels) for k in keys]


def fleet(
    session: Session,
    now: datetime,
    *,
    labels: bool,
    group: str | None = None,
    state: str | None = None,
) -> Fleet:
    """The board: counts over the whole fleet, rows filtered and sorted worst first."""
    rows = homes(session, now, labels=labels)
    groups = sorted({r.group for r in rows if r.group})
    if group:
        rows = [r for r in rows if r.group == group]
    counts = Counter(r.state for r in rows)
    if state:
        rows = [r for r in rows if r.state == state]
    order = list(STATES)
    rows.sort(key=lambda r: (order.index(r.state), r.group, r.tenant, r.gateway))
    return Fleet(rows=rows, counts=counts, groups=groups)


def fingerprint(session: Session, now: datetime) -> int:
    """Changes when anything the board shows changes (health, silence, registry),
    and not at every heartbeat. Cheap: no rows are built."""
    registry, heard = _load(session)
    return hash(
        (
            tuple(sorted((k, h.active, h.label, h.homecare_group) for k, h in registry.items())),
            tuple(
                sorted(
                    (k, g.availability, silent(g, now), json.dumps(g.devices, sort_keys=True))
                    for k, g in heard.items()
                )
            ),
        )
    )

"""``/metrics`` in the Prometheus text format (0.0.4), and ``/healthz``.

Counters of what arrived come from the running service (they live in its
memory and restart at zero, as Prometheus expects of counters); everything
else is read from the store at scrape time, so that several central processes
report the same totals for what they share.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from central.store.models import Incident, OutboxMessage, Task, Timer
from central.web.context import WebContext
from central.web.fleet import GATEWAY_COLUMNS, silent

_HEALTHS = ("up", "down", "unreachable", "restarting", "failed", "unknown")
_TASK_STATES = ("open", "acknowledged", "done", "cancelled")
_OUTBOX_STATES = ("pending", "failed", "sent", "dead")
_KINDS = ("single", "extensive", "infrastructure")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]) -> str:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {value:g}" for labels, value in samples]
    return "\n".join(lines)


def _by(
    label: str, counts: Mapping[str, float], keys: Iterable[str] = ()
) -> list[tuple[str, float]]:
    names = sorted(set(keys) | set(counts))
    return [(f'{{{label}="{_escape(k)}"}}', float(counts.get(k, 0))) for k in names]


def _grouped(session: Any, column: Any, *where: Any) -> Counter[str]:
    rows = session.execute(select(column, func.count()).where(*where).group_by(column))
    return Counter({str(k): int(n) for k, n in rows})


@dataclass(frozen=True, slots=True)
class _Snapshot:
    gateways: int
    online: int
    devices: Counter[str]
    incidents: Counter[str]
    tasks: Counter[str]
    outbox: Counter[str]
    lag_s: float


def _snapshot(ctx: WebContext, now: datetime) -> _Snapshot:
    """Everything the gauges need, read in one read-only session (plain rows)."""
    with ctx.reader.session() as session:
        gateways = session.execute(select(*GATEWAY_COLUMNS)).all()
        incidents = _grouped(session, Incident.kind, Incident.status != "closed")
        tasks = _grouped(session, Task.status)
        outbox = _grouped(session, OutboxMessage.status)
        oldest = session.scalar(select(func.min(Timer.due_at)).where(Timer.due_at <= now))
    devices: Counter[str] = Counter()
    for gw in gateways:
        for name, data in (gw.devices or {}).items():
            health = str(data.get("health", "unknown")) if isinstance(data, dict) else "unknown"
            devices[f'{{device="{_escape(name)}",health="{_escape(health)}"}}'] += 1
    lag = (now - oldest).total_seconds() if oldest is not None else 0.0
    online = sum(1 for gw in gateways if not silent(gw, now))
    return _Snapshot(len(gateways), online, devices, incidents, tasks, outbox, max(lag, 0.0))


def _store_families(ctx: WebContext, now: datetime) -> list[str]:
    snap = _snapshot(ctx, now)
    return [
        _family(
            "driftvakt_gateways_online",
            "gauge",
            "Gateways heard from within three heartbeats.",
            [("", snap.online)],
        ),
        _family(
            "driftvakt_gateways_known", "gauge", "Gateways ever heard from.", [("", snap.gateways)]
        ),
        _family(
            "driftvakt_devices",
            "gauge",
            "Devices by last reported health.",
            sorted(snap.devices.items()),
        ),
        _family(
            "driftvakt_incidents_open",
            "gauge",
            "Open incidents by kind.",
            _by("kind", snap.incidents, _KINDS),
        ),
        _family(
            "driftvakt_tasks", "gauge", "Tasks by state.", _by("state", snap.tasks, _TASK_STATES)
        ),
        _family(
            "driftvakt_notifications",
            "gauge",
            "Notifications in the outbox by status (sent, failed and retrying, pending, dead).",
            _by("status", snap.outbox, _OUTBOX_STATES),
        ),
        _family(
            "driftvakt_timer_lag_seconds",
            "gauge",
            "How long the oldest due timer has waited to fire (0 when none is due).",
            [("", snap.lag_s)],
        ),
    ]


def _service_families(ctx: WebContext) -> list[str]:
    counters = ctx.counters()
    accepted: Mapping[str, float] = counters.get("accepted", {})
    rejected: Mapping[str, float] = counters.get("rejected", {})
    return [
        _family(
            "driftvakt_messages_received_total",
            "counter",
            "MQTT messages received by ingest.",
            [("", counters.get("received", 0))],
        ),
        _family(
            "driftvakt_messages_accepted_total",
            "counter",
            "Valid MQTT messages by topic kind.",
            _by("topic", accepted),
        ),
        _family(
            "driftvakt_messages_rejected_total",
            "counter",
            "Rejected MQTT messages by reason.",
            _by("reason", rejected),
        ),
    ]


def render(ctx: WebContext) -> str:
    """The whole exposition."""
    now = ctx.now()
    families = [*_service_families(ctx), *_store_families(ctx, now)]
    return "\n".join(families) + "\n"


def health(ctx: WebContext) -> tuple[bool, dict[str, Any]]:
    """(healthy, detail): the store answers and the service says it runs."""
    detail: dict[str, Any] = {}
    try:
        ctx.store.check()
        detail["database"] = "ok"
    except Exception as exc:
        detail["database"] = f"error: {exc}"
    service_health = ctx.health()
    detail.update(service_health)
    healthy = detail["database"] == "ok" and bool(service_health.get("running", False))
    detail["status"] = "ok" if healthy else "unhealthy"
    return healthy, detail

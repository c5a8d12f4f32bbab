"""Read models of the routine for the pages and the API: incidents with their
timelines, tasks by role, and tonight's physical visits.

Everything is read from the store that the service writes (incidents, tasks,
the audit log, the outbox); nothing here decides. Labels come from the
registry and only when the viewer may see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.store.models import AuditEntry, Home, Incident, OutboxMessage, Task

STOCKHOLM = ZoneInfo("Europe/Stockholm")
LIVE = ("open", "acknowledged")
NIGHT_TURN = time(12, 0)
""""Tonight" runs from noon to noon, Stockholm time: a 01:30 check belongs to the
night that began the evening before."""

KIND_NAMES = {"single": "Enstaka", "extensive": "Omfattande", "infrastructure": "Övervakningen"}
TASK_STATUS = {
    "open": "Ny",
    "acknowledged": "Kvitterad",
    "done": "Klar",
    "cancelled": "Avbruten",
}
INCIDENT_STATUS = {"open": "Öppen", "recovering": "Återhämtar sig", "closed": "Stängd"}


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One task as shown; ``label``/``group`` come from the registry."""

    task: Task
    group: str
    label: str | None
    may_see: bool
    """Whether the viewer may see personal data (labels, journal-note drafts)."""

    def public(self) -> dict[str, Any]:
        t = self.task
        return {
            "id": t.id,
            "incident": t.incident_id,
            "tenant": t.tenant,
            "step": t.step,
            "role": t.role,
            "action": t.action,
            "status": t.status,
            "gateway": t.gateway,
            "homecare_group": self.group,
            "label": self.label,
            "check": t.check_at,
            "created": t.created_at,
            "due": t.due_at,
            "acknowledged_at": t.acknowledged_at,
            "acknowledged_by": t.acknowledged_by,
            "closed_at": t.closed_at,
            "text": t.text if self.may_see or t.action != "journal_note" else "",
        }


def _registry(session: Session) -> dict[tuple[str, str], Home]:
    return {(h.tenant, h.gateway): h for h in session.scalars(select(Home))}


def _rows(session: Session, tasks: list[Task], labels: bool) -> list[TaskRow]:
    registry = _registry(session)
    out = []
    for t in tasks:
        home = registry.get((t.tenant, t.gateway or ""))
        out.append(
            TaskRow(
                task=t,
                group=home.homecare_group if home else "",
                label=home.label if (home and labels) else None,
                may_see=labels,
            )
        )
    return out


def tasks(session: Session, *, role: str | None, labels: bool, live_only: bool) -> list[TaskRow]:
    """Tasks of one role (``None``: every role), newest first, live ones first."""
    query = select(Task)
    if role is not None:
        query = query.where(Task.role == role)
    if live_only:
        query = query.where(Task.status.in_(LIVE))
    rows = list(session.scalars(query.order_by(Task.created_at.desc()).limit(500)))
    rows.sort(key=lambda t: (t.status not in LIVE, t.due_at is None, t.due_at or t.created_at))
    return _rows(session, rows, labels)


def task_row(session: Session, task_id: str, *, labels: bool) -> TaskRow | None:
    """One task as shown, or ``None``."""
    task = session.get(Task, task_id)
    return None if task is None else _rows(session, [task], labels)[0]


def night_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Tonight's span in UTC: noon to noon, Stockholm time, around ``now``."""
    local = now.astimezone(STOCKHOLM)
    day = local.date() if local.time() >= NIGHT_TURN else local.date() - timedelta(days=1)
    start = datetime.combine(day, NIGHT_TURN, STOCKHOLM)
    end = datetime.combine(day + timedelta(days=1), NIGHT_TURN, STOCKHOLM)
    return start.astimezone(now.tzinfo), end.astimezone(now.tzinfo)


@dataclass(frozen=True, slots=True)
class Visit:
    """A physical visit of tonight and, once made, its journal note."""

    row: TaskRow
    note: Task | None

    def public(self) -> dict[str, Any]:
        out = self.row.public()
        note = self.note
        out["journal_note"] = (
            None
            if note is None
            else {
                "task": note.id,
                "status": note.status,
                "text": note.text if self.row.may_see else "",
            }
        )
        return out


@dataclass(frozen=True, slots=True)
class Night:
    """Tonight's visits: to make (by check time), made, and called off after someone
    had acknowledged them (the camera works again: whoever set out must know)."""

    todo: list[Visit]
    done: list[Visit]
    called_off: list[Visit]


def visits(session: Session, now: datetime, *, labels: bool) -> Night:
    """Tonight's physical visits."""
    start, end = night_bounds(now)
    found = list(
        session.scalars(
            select(Task).where(
                Task.action == "physical_visit",
                Task.check_at >= start,
                Task.check_at < end,
            )
        )
    )
    notes = _notes(session, {t.incident_id for t in found})
    night = Night([], [], [])
    for row in _rows(session, found, labels):
        visit = Visit(row, _note_for(notes, row.task))
        if row.task.status in LIVE:
            night.todo.append(visit)
        elif row.task.status != "cancelled":
            night.done.append(visit)
        elif row.task.acknowledged_at is not None:
            night.called_off.append(visit)
    night.todo.sort(key=lambda v: (v.row.task.check_at or now, v.row.task.gateway or ""))
    night.done.sort(key=lambda v: v.row.task.check_at or now, reverse=True)
    return night


def _notes(session: Session, incidents: set[str]) -> list[Task]:
    if not incidents:
        return []
    query = select(Task).where(Task.action == "journal_note", Task.incident_id.in_(incidents))
    return list(session.scalars(query))


def _note_for(notes: list[Task], visit: Task) -> Task | None:
    same_home = [
        n for n in notes if n.incident_id == visit.incident_id and n.gateway == visit.gateway
    ]
    exact = [n for n in same_home if n.check_at == visit.check_at]
    found = exact or same_home
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class IncidentRow:
    incident: Incident
    open_tasks: int
    labels: dict[str, str]

    def public(self) -> dict[str, Any]:
        i = self.incident
        return {
            "id": i.id,
            "tenant": i.tenant,
            "kind": i.kind,
            "status": i.status,
            "opened": i.opened_at,
            "updated": i.updated_at,
            "closed": i.closed_at,
            "owner_role": i.owner_role,
            "gateways": list(i.gateways or []),
            "labels": self.labels or None,
            "vendor_case": i.vendor_case,
            "open_tasks": self.open_tasks,
        }


def _labels(registry: dict[tuple[str, str], Home], incident: Incident) -> dict[str, str]:
    out = {}
    for gw in incident.gateways or []:
        home = registry.get((incident.tenant, gw))
        if home is not None and home.label:
            out[gw] = home.label
    return out


def incidents(
    session: Session, *, closed: bool, labels: bool, limit: int = 200
) -> list[IncidentRow]:
    """Open (or closed) incidents, newest first, with their count of live tasks."""
    query = select(Incident).where(
        Incident.status == "closed" if closed else Incident.status != "closed"
    )
    found = list(session.scalars(query.order_by(Incident.opened_at.desc()).limit(limit)))
    counts = dict(
        session.execute(
            select(Task.incident_id, func.count())
            .where(Task.status.in_(LIVE), Task.incident_id.in_([i.id for i in found]))
            .group_by(Task.incident_id)
        ).all()
    )
    registry = _registry(session) if labels else {}
    return [IncidentRow(i, counts.get(i.id, 0), _labels(registry, i)) for i in found]


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    row: IncidentRow
    tasks: list[TaskRow]
    timeline: list[AuditEntry]
    notifications: list[OutboxMessage]

    def public(self) -> dict[str, Any]:
        out = self.row.public()
        out["tasks"] = [t.public() for t in self.tasks]
        out["timeline"] = [
            {"at": e.at, "kind": e.kind, "actor": e.actor, "detail": e.detail}
            for e in self.timeline
        ]
        out["notifications"] = [
            {
                "channel": n.channel,
                "recipient": n.recipient,
                "status": n.status,
                "attempts": n.attempts,
                "created": n.created_at,
                "sent": n.sent_at,
                "last_error": n.last_error,
                "task": n.task_id,
            }
            for n in self.notifications
        ]
        return out


def incident(session: Session, incident_id: str, *, labels: bool) -> IncidentDetail | None:
    """One incident with its tasks, its audit timeline and its notifications."""
    found = session.get(Incident, incident_id)
    if found is None:
        return None
    task_list = list(
        session.scalars(
            select(Task).where(Task.incident_id == incident_id).order_by(Task.created_at)
        )
    )
    live = sum(1 for t in task_list if t.status in LIVE)
    registry = _registry(session) if labels else {}
    timeline = _timeline(session, found, {t.id for t in task_list})
    sent = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.incident_id == incident_id)
        .order_by(OutboxMessage.id)
    )
    return IncidentDetail(
        row=IncidentRow(found, live, _labels(registry, found)),
        tasks=_rows(session, task_list, labels),
        timeline=timeline,
        notifications=list(sent),
    )


def _timeline(session: Session, found: Incident, task_ids: set[str]) -> list[AuditEntry]:
    """The incident's own entries, and the human actions on it or its tasks (the
    service records those by task or incident id in the entry's detail)."""
    own = session.scalars(select(AuditEntry).where(AuditEntry.incident_id == found.id))
    humans = session.scalars(
        select(AuditEntry).where(
            AuditEntry.kind == "human",
            AuditEntry.incident_id.is_(None),
            AuditEntry.tenant == found.tenant,
            AuditEntry.at >= found.opened_at,
        )
    )
    mine = [
        e
        for e in humans
        if e.detail.get("task") in task_ids or e.detail.get("incident") == found.id
    ]
    return sorted([*own, *mine], key=lambda e: e.id)


def fingerprint(session: Session) -> tuple[Any, ...]:
    """Changes whenever the routine's state changes: every change is audited,
    and the outbox tracks each delivery."""
    audit = session.scalar(select(func.max(AuditEntry.id)))
    outbox = session.execute(
        select(func.count(), func.max(OutboxMessage.sent_at), func.sum(OutboxMessage.attempts))
    ).one()
    tasks_state = session.execute(
        select(func.count(), func.max(Task.closed_at), func.max(Task.acknowledged_at))
    ).one()
    return (audit, tuple(outbox), tuple(tasks_state))

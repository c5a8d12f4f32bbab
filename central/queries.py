"""Read-only views of the store for the dashboard and the CLI: plain dicts,
no client labels except where a signed-in view asks for them (``label``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.store import Incident, OutboxMessage, Task, outbox

LIVE = ("open", "acknowledged")
VISIT_HORIZON = timedelta(hours=16)
"""How far ahead "tonight's visits" reaches from now: past the end of any night."""


def incidents(session: Session, open_only: bool = True) -> list[dict[str, Any]]:
    query = select(Incident).order_by(Incident.opened_at.desc())
    if open_only:
        query = query.where(Incident.status == "open")
    return [
        {
            "id": i.id,
            "tenant": i.tenant,
            "kind": i.kind,
            "status": i.status,
            "gateways": list(i.gateways),
            "opened": i.opened_at,
            "updated": i.updated_at,
            "closed": i.closed_at,
            "owner_role": i.owner_role,
            "vendor_case": i.vendor_case,
            "policy": i.policy_hash,
        }
        for i in session.scalars(query)
    ]


def tasks(
    session: Session, role: str | None = None, live_only: bool = True
) -> list[dict[str, Any]]:
    query = select(Task).order_by(Task.due_at, Task.created_at)
    if role is not None:
        query = query.where(Task.role == role)
    if live_only:
        query = query.where(Task.status.in_(LIVE))
    return [_task(t) for t in session.scalars(query)]


def visits(session: Session, now: datetime) -> list[dict[str, Any]]:
    """The night patrol's worklist: live ``physical_visit`` tasks whose check is ahead."""
    query = (
        select(Task)
        .where(Task.action == "physical_visit", Task.status.in_(LIVE))
        .where(Task.check_at >= now - timedelta(hours=1), Task.check_at <= now + VISIT_HORIZON)
        .order_by(Task.check_at)
    )
    return [_task(t) for t in session.scalars(query)]


def dead_letters(session: Session) -> list[dict[str, Any]]:
    return [_message(m) for m in outbox.dead_letters(session)]


def _task(t: Task) -> dict[str, Any]:
    return {
        "id": t.id,
        "incident": t.incident_id,
        "tenant": t.tenant,
        "step": t.step,
        "role": t.role,
        "action": t.action,
        "status": t.status,
        "gateway": t.gateway,
        "check": t.check_at,
        "due": t.due_at,
        "created": t.created_at,
        "acknowledged": t.acknowledged_at,
        "acknowledged_by": t.acknowledged_by,
        "reminders": t.reminders,
        "reply_code": t.reply_code,
        "draft": t.text,
    }


def _message(m: OutboxMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "key": m.idempotency_key,
        "channel": m.channel,
        "recipient": m.recipient,
        "subject": m.subject,
        "attempts": m.attempts,
        "status": m.status,
        "error": m.last_error,
        "created": m.created_at,
        "incident": m.incident_id,
        "task": m.task_id,
    }

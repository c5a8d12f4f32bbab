"""The append-only audit log: every decision, notification attempt and human
action, with who and when. Rows are only ever added; a flush that would change
or delete one raises."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from central.errors import StoreError
from central.store.models import AuditEntry


def record(
    session: Session,
    *,
    at: datetime,
    tenant: str,
    kind: str,
    actor: str,
    incident_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry. ``detail`` must be JSON-serialisable and hold no client label."""
    entry = AuditEntry(
        at=at, tenant=tenant, kind=kind, actor=actor, incident_id=incident_id, detail=detail or {}
    )
    session.add(entry)


def entries(
    session: Session, *, incident_id: str | None = None, kind: str | None = None, limit: int = 500
) -> list[AuditEntry]:
    """Entries in the order they were written, optionally for one incident or kind."""
    query = select(AuditEntry).order_by(AuditEntry.id)
    if incident_id is not None:
        query = query.where(AuditEntry.incident_id == incident_id)
    if kind is not None:
        query = query.where(AuditEntry.kind == kind)
    return list(session.scalars(query.limit(limit)))


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry):
            raise StoreError("the audit log is append-only: an entry cannot be changed or deleted")

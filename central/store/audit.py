"""The append-only audit log: every decision, notification attempt and human
action, with who and when. Rows are only ever added; a flush that would change
or delete one raises.

Each entry also gets one ``audit_gateways`` row per gateway it concerns, in the
same transaction, so that a gateway's history is an index range however much
the rest of the fleet has written since (docs/central.md, "Store").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from central.errors import StoreError
from central.store.models import AuditEntry, AuditGateway


def concerns(detail: Mapping[str, Any], about: str | None = None) -> set[str]:
    """The gateways an entry concerns: ``about`` and those its detail names.

    The one rule behind the gateway page's history: ``detail["gateway"]``
    (a command, a visit), every id in ``detail["gateways"]`` (a decision on an
    incident) and the gateway the entry is about. Writers pass ``about`` when
    they know it; the backfill of entries written before the index (migration
    0003, which keeps its own frozen copy of this rule) took the actor, which
    is how those entries were matched until then.

    :param detail: the entry's JSON detail.
    :param about: the gateway the entry is about, if any.
    """
    named = {detail.get("gateway"), *(detail.get("gateways") or ()), about}
    return {g for g in named if isinstance(g, str) and g}


def record(
    session: Session,
    *,
    at: datetime,
    tenant: str,
    kind: str,
    actor: str,
    incident_id: str | None = None,
    detail: dict[str, Any] | None = None,
    gateway: str | None = None,
) -> None:
    """Append one entry and its gateway index rows (:func:`concerns`).

    ``detail`` must be JSON-serialisable and hold no client label. Pass
    ``gateway`` when the entry is about one gateway that the detail does not
    name, such as what the gateway itself reported (its id is the actor then).
    """
    detail = detail or {}
    entry = AuditEntry(
        at=at, tenant=tenant, kind=kind, actor=actor, incident_id=incident_id, detail=detail
    )
    entry.gateways = [
        AuditGateway(tenant=tenant, gateway=g) for g in sorted(concerns(detail, gateway))
    ]
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


def gateway_history(session: Session, tenant: str, gateway: str, limit: int) -> list[AuditEntry]:
    """The newest ``limit`` entries concerning one gateway, newest first, however old.

    Reads the ``(tenant, gateway, audit_id)`` index backwards, so the cost does
    not grow with what other gateways wrote.
    """
    query = (
        select(AuditEntry)
        .join(AuditGateway, AuditGateway.audit_id == AuditEntry.id)
        .where(AuditGateway.tenant == tenant, AuditGateway.gateway == gateway)
        .order_by(AuditGateway.audit_id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry | AuditGateway):
            raise StoreError("the audit log is append-only: an entry cannot be changed or deleted")

"""Durable timers (STYLE.md, 7; DESIGN.md, "Scale path").

A timer is a row (owner, key, token, due time). Scheduling the same key
again replaces its token, so a firing that was already under way for the
old one finds a mismatch and does nothing. Due timers are claimed with
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several central
processes never fire one twice; the row is deleted in the same transaction
as the firing's effects, so a crash before commit leaves it to fire again,
and a crash after leaves nothing to fire.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.store.models import Timer
from protocol import new_id


def schedule(
    session: Session,
    *,
    tenant: str,
    owner: str,
    key: str,
    due: datetime,
    payload: dict[str, Any] | None = None,
) -> str:
    """Create or move the timer ``(owner, key)``; returns its new token."""
    token = new_id()
    row = session.scalars(select(Timer).where(Timer.owner == owner, Timer.key == key)).first()
    if row is None:
        session.add(
            Timer(
                tenant=tenant, owner=owner, key=key, token=token, due_at=due, payload=payload or {}
            )
        )
    else:
        row.token, row.due_at, row.payload = token, due, payload or {}
    session.flush()
    return token


def cancel(session: Session, owner: str, key: str | None = None) -> int:
    """Drop one timer of ``owner``, or all of them; returns how many."""
    query = select(Timer).where(Timer.owner == owner)
    if key is not None:
        query = query.where(Timer.key == key)
    rows = list(session.scalars(query))
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def claim_due(
    session: Session, now: datetime, limit: int = 50, tenant: str | None = None
) -> list[Timer]:
    """Due timers, oldest first, locked for this transaction (skipping others' locks)."""
    query = select(Timer).where(Timer.due_at <= now).order_by(Timer.due_at, Timer.id).limit(limit)
    if tenant is not None:
        query = query.where(Timer.tenant == tenant)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def take(session: Session, timer_id: int, token: str) -> Timer | None:
    """Consume the timer if it still carries ``token``; ``None`` means stale: do nothing."""
    query = select(Timer).where(Timer.id == timer_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = session.scalars(query).first()
    if row is None or row.token != token:
        return None
    session.delete(row)
    session.flush()
    return row


def next_due(session: Session) -> datetime | None:
    """When the earliest timer falls due, to sleep exactly until then."""
    return session.scalars(select(Timer.due_at).order_by(Timer.due_at).limit(1)).first()

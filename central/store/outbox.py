"""The notification outbox (STYLE.md, 7): rows written in the decision's own
transaction, sent later by the worker, retried with exponential back-off.

A row is leased before sending (``next_attempt_at`` pushed ahead), sent
outside any transaction (a slow SMTP server must not hold the database's
write lock), then marked. A crash between sending and marking resends after
the lease; the idempotency key travels with the message (SMTP Message-ID,
HTTP header) so that the receiver can tell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from central.store.models import OutboxMessage

LEASE = timedelta(seconds=120)
"""How long a claimed row stays with its worker before another may retry it."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off: ``base * 2**(attempt-1)``, capped; dead after ``max_attempts``."""

    base_s: float
    max_s: float
    max_attempts: int

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.base_s * 2 ** max(attempts - 1, 0), self.max_s))


def enqueue(session: Session, message: OutboxMessage) -> bool:
    """Add ``message`` unless its idempotency key is already there; returns whether it was added."""
    existing = session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.idempotency_key == message.idempotency_key)
    ).first()
    if existing is not None:
        return False
    session.add(message)
    session.flush()
    return True


def claim(
    session: Session, now: datetime, limit: int = 20, channels: list[str] | None = None
) -> list[OutboxMessage]:
    """Lease up to ``limit`` due rows (of ``channels``, or any) and count the attempt."""
    query = (
        select(OutboxMessage)
        .where(
            or_(OutboxMessage.status == "pending", OutboxMessage.status == "failed"),
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if channels is not None:
        query = query.where(OutboxMessage.channel.in_(channels))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + LEASE
    session.flush()
    return rows


def mark_sent(session: Session, row_id: int, now: datetime) -> None:
    row = session.get(OutboxMessage, row_id)
    if row is not None:
        row.status, row.sent_at, row.last_error = "sent", now, ""


def mark_failed(
    session: Session, row_id: int, now: datetime, error: str, backoff: Backoff, permanent: bool
) -> str:
    """Schedule a retry, or keep the row as a dead letter; returns the new status."""
    row = session.get(OutboxMessage, row_id)
    if row is None:
        return "gone"
    row.last_error = error[:2000]
    if permanent or row.attempts >= backoff.max_attempts:
        row.status = "dead"
    else:
        row.status, row.next_attempt_at = "failed", now + backoff.delay(row.attempts)
    return row.status


def dead_letters(session: Session, limit: int = 200) -> list[OutboxMessage]:
    """Messages given up on, newest first: shown on the dashboard, never deleted."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "dead")
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def retry_dead(session: Session, row_id: int, now: datetime) -> bool:
    """Give a dead letter another round (an operator's action, audited by the caller)."""
    row = session.get(OutboxMessage, row_id)
    if row is None or row.status != "dead":
        return False
    row.status, row.attempts, row.next_attempt_at = "pending", 0, now
    return True

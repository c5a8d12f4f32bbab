"""The notification outbox (STYLE.md, 7): rows written in the decision's own
transaction, sent later by the worker, retried with exponential back-off.

A row is leased before sending (``next_attempt_at`` pushed ahead), sent
outside any transaction (a slow SMTP server must not hold the database's
write lock), then marked. A crash between sending and marking resends after
the lease; the idempotency key travels with the message (SMTP Message-ID,
HTTP header) so that the receiver can tell.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session, aliased

from central.store.models import OutboxMessage

_TIME = OutboxMessage.__table__.c.next_attempt_at.type

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
    """Lease up to ``limit`` due rows (of ``channels``, or any) and count the attempt.

    A row waits while an older row to the same recipient on the same channel about the
    same incident is unsent: a retry scheduled late must not let the incident's
    "restored" overtake its "opened" (a dead letter no longer holds anyone back).
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    query = _claim_query(limit, tuple(channels) if channels is not None else None, postgres)
    rows = list(session.scalars(query, {"now": now}))
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + LEASE
    session.flush()
    return rows


@functools.lru_cache(maxsize=64)
def _claim_query(
    limit: int, channels: tuple[str, ...] | None, postgres: bool
) -> Select[OutboxMessage]:
    """Built once per shape: the workers poll often, and building the query costs more
    than running it on an idle outbox."""
    query = (
        select(OutboxMessage)
        .where(
            _unsent(OutboxMessage),
            OutboxMessage.next_attempt_at <= bindparam("now", type_=_TIME),
            ~exists().where(_older_unsent_sibling()),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if channels is not None:
        query = query.where(OutboxMessage.channel.in_(channels))
    if postgres:
        query = query.with_for_update(skip_locked=True)
    return query


def _unsent(row: type[OutboxMessage]) -> Any:
    return or_(row.status == "pending", row.status == "failed")


def _older_unsent_sibling() -> Any:
    older = aliased(OutboxMessage)
    return and_(
        older.channel == OutboxMessage.channel,
        older.recipient == OutboxMessage.recipient,
        older.incident_id.is_not_distinct_from(OutboxMessage.incident_id),
        older.id < OutboxMessage.id,
        _unsent(older),
    )


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

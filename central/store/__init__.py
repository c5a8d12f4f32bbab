"""The central store: SQLAlchemy over SQLite (embedded default) or PostgreSQL.

Schema in :mod:`central.store.models`, migrations under ``migrations/`` run by
:meth:`Store.upgrade` (``driftvakt-central db upgrade``, and at every start).
"""

from central.store import audit, outbox, timers
from central.store.db import Store
from central.store.models import (
    AuditEntry,
    AuditGateway,
    Base,
    CommandRecord,
    EngineCheckpoint,
    Gateway,
    Home,
    Incident,
    OutboxMessage,
    ProcessedEvent,
    Task,
    Timer,
)

__all__ = [
    "AuditEntry",
    "AuditGateway",
    "Base",
    "CommandRecord",
    "EngineCheckpoint",
    "Gateway",
    "Home",
    "Incident",
    "OutboxMessage",
    "ProcessedEvent",
    "Store",
    "Task",
    "Timer",
    "audit",
    "outbox",
    "timers",
]

"""Tables of the central store (docs/central.md, "Store").

Typed SQLAlchemy 2.x declarative models, portable between SQLite and
PostgreSQL. Times are stored as aware UTC (``UtcDateTime``) because SQLite
keeps no offset. The engine's own state travels as JSON so that the schema
does not pin the engine's internals; what the dashboard filters on is a
column.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Home(Base):
    """One registry row: a client's home and its gateway (personal data only in ``label``)."""

    __tablename__ = "homes"
    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(64), primary_key=True)
    homecare_group: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    relay: Mapped[bool] = mapped_column(Boolean, default=True)
    night_checks: Mapped[list[Any]] = mapped_column(default=list)
    visit_plan: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    camera_serial: Mapped[str | None] = mapped_column(String(128), nullable=True)
    router_serial: Mapped[str | None] = mapped_column(String(128), nullable=True)
    camera_mac: Mapped[str | None] = mapped_column(String(17), nullable=True)
    router_mac: Mapped[str | None] = mapped_column(String(17), nullable=True)


class Gateway(Base):
    """What central last heard from a gateway, by receive time (never the gateway's clock)."""

    __tablename__ = "gateways"
    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(64), primary_key=True)
    availability: Mapped[str | None] = mapped_column(String(16), nullable=True)
    availability_at: Mapped[datetime | None] = mapped_column(nullable=True)
    state_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    boot: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    time_synced: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    devices: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ProcessedEvent(Base):
    """Event ids already applied: the dedup of at-least-once delivery."""

    __tablename__ = "processed_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    gateway: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]


class Incident(Base):
    """An incident with the policy snapshot it opened with (STYLE.md, Grafana OnCall)."""

    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    open_key: Mapped[str | None] = mapped_column(String(160), unique=True, nullable=True)
    """Set while open (e.g. ``botkyrka/single/gw-0042``): one open incident per key,
    enforced by the database so that several central processes cannot double it."""
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    owner_role: Mapped[str] = mapped_column(String(64), default="")
    gateways: Mapped[list[Any]] = mapped_column(default=list)
    policy_id: Mapped[str] = mapped_column(String(128), default="")
    policy_hash: Mapped[str] = mapped_column(String(128), default="")
    policy_snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    vendor_case: Mapped[str | None] = mapped_column(String(128), nullable=True)


class Task(Base):
    """One human step: a role, an action, a due time, an acknowledgement."""

    __tablename__ = "tasks"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    tenant: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")
    gateway: Mapped[str | None] = mapped_column(String(64), nullable=True)
    check_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reply_code: Mapped[str | None] = mapped_column(String(16), unique=True, nullable=True)
    """Short code a person texts back to acknowledge; cleared when the task closes."""
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text, default="")
    """Drafted text (journal note, vendor report), Swedish."""


class Timer(Base):
    """A durable timer; firing with a stale token does nothing (STYLE.md, 7)."""

    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("owner", "key"),
        Index("ix_timers_due", "due_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(160))
    """What the timer belongs to: an incident id, or ``gateway:<tenant>/<id>``."""
    key: Mapped[str] = mapped_column(String(160))
    token: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMessage(Base):
    """A notification, written in the decision's transaction and sent by the worker."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    tenant: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending``, ``failed`` (will retry), ``sent`` or ``dead`` (kept, visible)."""
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)


class AuditEntry(Base):
    """Append-only: every decision, notification attempt and human action."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    tenant: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    """``decision``, ``notification``, ``human``, ``command``, ``ingest``, ``timer``,
    ``gateway`` (an event a gateway reported)."""
    actor: Mapped[str] = mapped_column(String(128))
    incident_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    gateways: Mapped[list[AuditGateway]] = relationship()
    """The index rows written with the entry (``central.store.audit.record``)."""


class AuditGateway(Base):
    """One gateway an audit entry concerns: the gateway page's index into the log.

    Append-only like the entry, and written in its transaction. Without it a
    gateway's history was a filter over the tenant's newest rows, and on a big
    fleet those covered only minutes.
    """

    __tablename__ = "audit_gateways"
    __table_args__ = (Index("ix_audit_gateways_history", "tenant", "gateway", "audit_id"),)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(128), primary_key=True)
    """As long as ``audit.actor``: entries from before the index are matched by actor."""
    tenant: Mapped[str] = mapped_column(String(32))


class CommandRecord(Base):
    """A command sent to a gateway and the result it answered with."""

    __tablename__ = "commands"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    gateway: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    device: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    result_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class EngineCheckpoint(Base):
    """The engine's whole state for one tenant, written with every decision.

    The engine is pure and keeps its state in memory; this row is what it is
    rebuilt from after a restart, together with the retained messages.
    """

    __tablename__ = "engine_state"
    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]

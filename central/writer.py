"""Writes the engine's effects to the store, inside the caller's transaction.

The engine decides; this module only records (STYLE.md, 7): decisions become
audit rows, incident records become ``incidents`` and ``tasks`` rows (each
live task with a reply code), timers become timer rows, and notifications
become one outbox row per channel and recipient, addressed through the
contact directory. A role with no address for a channel still gets a row,
born dead, so that the gap shows in the dead-letter list instead of
vanishing. Each incident change also queues its retained MQTT summary
(PROTOCOL.md, "Central's own topics") through the same outbox, so it too
survives a broker outage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.config import CentralConfig, Contact
from central.engine.effects import (
    Decision,
    Effect,
    IncidentChanged,
    Notification,
    TimerCancelled,
    TimerScheduled,
)
from central.notify import AckLinks, Acknowledgement, email_text, new_reply_code, sms_text
from central.store import Home, Incident, OutboxMessage, Task, Timer, audit, outbox, timers
from protocol import IncidentKind, IncidentSummary, incident_topic

LIVE = ("open", "acknowledged")
HOMECARE_ROLE = "hemtjanstgrupp"


@dataclass(frozen=True, slots=True)
class Written:
    """What one batch of effects added: the worker is kicked when ``outbox`` > 0."""

    decisions: int = 0
    outbox: int = 0


class EffectWriter:
    """Records effects for one tenant.

    :param CentralConfig config: contacts, channels, link settings.
    :param str tenant: the tenant whose engine produced the effects.
    :param AckLinks links: signs acknowledgement links.
    """

    def __init__(self, config: CentralConfig, tenant: str, links: AckLinks) -> None:
        self._config = config
        self._tenant = tenant
        self._links = links

    def write(
        self,
        session: Session,
        effects: Iterable[Effect],
        now: datetime,
        policies: dict[str, dict[str, Any]],
        actor: str = "engine",
    ) -> Written:
        """Write ``effects`` in order, incident records before the notifications that cite them."""
        effects = list(effects)
        decisions = rows = 0
        for effect in effects:
            if isinstance(effect, IncidentChanged):
                rows += self._incident(session, effect.record, now, policies, actor)
        for effect in effects:
            if isinstance(effect, Decision):
                decisions += 1
                audit.record(
                    session,
                    at=now,
                    tenant=self._tenant,
                    kind="decision",
                    actor=actor,
                    incident_id=effect.incident,
                    detail=effect.to_dict(),
                )
            elif isinstance(effect, Notification):
                rows += self._notification(session, effect, now)
            elif isinstance(effect, TimerScheduled):
                owner = effect.incident or f"gateway:{effect.gateway or '-'}"
                timers.schedule(
                    session,
                    tenant=self._tenant,
                    owner=owner,
                    key=effect.token,
                    due=effect.due,
                    payload={"purpose": effect.purpose},
                )
            elif isinstance(effect, TimerCancelled):
                _cancel_token(session, effect.token)
        return Written(decisions, rows)

    # --- incidents and tasks ----------------------------------------------------
    def _incident(
        self,
        session: Session,
        record: dict[str, Any],
        now: datetime,
        policies: dict[str, dict[str, Any]],
        actor: str,
    ) -> int:
        row = session.get(Incident, record["id"])
        if row is None:
            row = Incident(
                id=record["id"],
                tenant=self._tenant,
                kind=record["kind"],
                opened_at=_time(record["opened"]),
                updated_at=now,
                policy_id=record.get("policy", ""),
                policy_hash=record.get("policy", ""),
                policy_snapshot=policies.get(record.get("policy", ""), {}),
            )
            session.add(row)
        row.status = "closed" if record.get("status") == "closed" else "open"
        row.updated_at = _time(record["updated"])
        row.closed_at = _time(record["closed_at"]) if record.get("closed_at") else None
        row.gateways = list(record.get("gateways", []))
        row.vendor_case = record.get("case_number")
        row.state = record
        row.open_key = self._open_key(record)
        live = [t for t in record.get("tasks", {}).values() if t.get("status") in LIVE]
        row.owner_role = _owner(live, record)
        for task in record.get("tasks", {}).values():
            self._task(session, row, task, now, actor)
        session.flush()
        return self._summary(session, row, len(live), now)

    def _open_key(self, record: dict[str, Any]) -> str | None:
        """One live incident per home (single) or per tenant (infrastructure), by constraint."""
        if record.get("status") == "closed" or record.get("merged_into"):
            return None
        if record["kind"] == "single" and len(record.get("gateways", [])) == 1:
            return f"{self._tenant}/single/{record['gateways'][0]}"
        if record["kind"] == "infrastructure":
            return f"{self._tenant}/infrastructure"
        return None

    def _task(
        self, session: Session, incident: Incident, data: dict[str, Any], now: datetime, actor: str
    ) -> None:
        row = session.get(Task, data["id"])
        if row is None:
            row = Task(
                id=data["id"],
                incident_id=incident.id,
                tenant=self._tenant,
                step=data["step"],
                role=data["role"],
                action=data["action"],
                created_at=_time(data["created"]),
                gateway=data.get("gateway"),
                check_at=_time(data["check"]) if data.get("check") else None,
            )
            session.add(row)
        status = data.get("status", "open")
        if status == "acknowledged" and row.acknowledged_at is None:
            row.acknowledged_at, row.acknowledged_by = now, actor
        if status not in LIVE and row.closed_at is None:
            row.closed_at = now
        row.status, row.role = status, data["role"]
        row.due_at = _time(data["due"]) if data.get("due") else None
        row.reminders = int(data.get("reminders", 0))
        row.text = data.get("draft", "")
        if status in LIVE and row.reply_code is None and not data.get("notice"):
            row.reply_code = _unique_code(session)
        elif status not in LIVE:
            row.reply_code = None

    def _summary(self, session: Session, row: Incident, open_tasks: int, now: datetime) -> int:
        if row.status == "closed":
            payload = ""
        else:
            payload = (
                IncidentSummary(
                    v=1,
                    id=row.id,
                    kind=IncidentKind(row.kind),
                    gateways=row.gateways,
                    opened=row.opened_at,
                    updated=row.updated_at,
                    owner_role=row.owner_role,
                    open_tasks=open_tasks,
                )
                .to_payload()
                .decode()
            )
        key = f"summary:{row.id}:{row.updated_at.isoformat()}:{row.status}:{open_tasks}"
        topic = incident_topic(self._tenant, row.id)
        message = _message(self._tenant, key, "mqtt", topic, "", payload, now, row.id, None)
        return int(outbox.enqueue(session, message))

    # --- notifications ----------------------------------------------------------
    def _notification(self, session: Session, n: Notification, now: datetime) -> int:
        ack = self._ack(session, n.task)
        incident = session.get(Incident, n.incident)
        gateways = list(incident.gateways) if incident is not None else []
        contact = self._contact(session, n.role, gateways)
        added = 0
        for channel in n.channels:
            if channel == "mqtt":
                continue  # served by the incident's retained summary (PROTOCOL.md)
            recipients = self._recipients(channel, contact)
            if not recipients:
                self._unroutable(session, n, channel, now)
            for recipient in recipients:
                subject, body = _fit(channel, n, ack, gateways)
                key = f"{n.key}:{channel}:{recipient}"
                row = _message(
                    self._tenant, key, channel, recipient, subject, body, now, n.incident, n.task
                )
                added += int(outbox.enqueue(session, row))
        return added

    def _ack(self, session: Session, task_id: str | None) -> Acknowledgement | None:
        task = session.get(Task, task_id) if task_id else None
        if task is None or task.status not in LIVE or task.reply_code is None:
            return None
        return Acknowledgement(url=self._links.url(task.id), code=task.reply_code)

    def _contact(self, session: Session, role: str, gateways: list[str]) -> Contact:
        contacts = self._config.contacts
        if role != HOMECARE_ROLE:
            return contacts.roles.get(role, Contact())
        groups = set()
        for gateway in gateways:
            home = session.get(Home, (self._tenant, gateway))
            if home is not None:
                groups.add(home.homecare_group)
        found = [contacts.groups[g] for g in sorted(groups) if g in contacts.groups]
        return Contact(
            email=sorted({e for c in found for e in c.email}),
            phone=sorted({p for c in found for p in c.phone}),
        )

    def _recipients(self, channel: str, contact: Contact) -> list[str]:
        if channel == "email" and self._config.smtp is not None:
            return list(contact.email)
        if channel == "sms" and self._config.sms is not None:
            return list(contact.phone)
        if channel == "webhook" and self._config.webhook is not None:
            return [self._config.webhook.url]
        return []

    def _unroutable(self, session: Session, n: Notification, channel: str, now: datetime) -> None:
        key = f"{n.key}:{channel}:-"
        error = f"no {channel} address for role {n.role!r}: add it under [contacts] or [{channel}]"
        message = _message(
            self._tenant, key, channel, "-", n.subject, n.body, now, n.incident, n.task
        )
        message.status, message.last_error = "dead", error
        outbox.enqueue(session, message)


def _message(
    tenant: str,
    key: str,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    now: datetime,
    incident: str | None,
    task: str | None,
) -> OutboxMessage:
    return OutboxMessage(
        idempotency_key=key[:200],
        tenant=tenant,
        incident_id=incident,
        task_id=task,
        channel=channel,
        recipient=recipient,
        subject=subject[:300],
        body=body,
        created_at=now,
        next_attempt_at=now,
        attempts=0,
        status="pending",
        last_error="",
    )


def _fit(
    channel: str, n: Notification, ack: Acknowledgement | None, gateways: list[str]
) -> tuple[str, str]:
    if channel == "sms":
        return n.subject, sms_text(n.subject, n.body, ack, gateways)
    if channel == "email":
        return email_text(n.subject, n.body, ack, gateways)
    return n.subject, n.body


def _owner(live: list[dict[str, Any]], record: dict[str, Any]) -> str:
    """The role that owns the incident now: the earliest live task that asks to act."""
    acting = sorted((t for t in live if not t.get("notice")), key=lambda t: t["created"])
    tasks = acting or sorted(record.get("tasks", {}).values(), key=lambda t: t["created"])
    return tasks[0]["role"] if tasks else "unassigned"


def _unique_code(session: Session) -> str:
    while True:
        code = new_reply_code()
        if session.scalars(select(Task.id).where(Task.reply_code == code)).first() is None:
            return code


def _cancel_token(session: Session, token: str) -> None:
    for row in session.scalars(select(Timer).where(Timer.key == token)):
        session.delete(row)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

"""The central service's core shell: feeds the engine and records what it decides.

Every input (an MQTT message, a timer, a liveness tick, a person's action)
goes to the tenant's engine under that tenant's lock, and its effects are
written in ONE transaction together with the event id it consumed and a
checkpoint of the engine's state (STYLE.md, 7). If that transaction fails,
the engine is rebuilt from the last checkpoint, so memory never runs ahead
of the database. Only the shell reads the clock; the engine gets ``now``.

This is also the service layer the dashboard calls: acknowledge a task (by
id, signed link or SMS reply code), mark a visit done, enter a vendor case
number, report a failed check, send a ``power_cycle``, and the read-only
lists (fleet, incidents, tasks, tonight's visits, dead letters, metrics).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from central import queries
from central.config import CentralConfig
from central.engine import (
    Acknowledge,
    BrokerLost,
    BrokerRestored,
    CheckFailed,
    Effect,
    Engine,
    EngineState,
    GatewayMessage,
    Input,
    TaskDone,
    TaskRef,
    Tick,
    TimerFired,
    VendorCaseNumber,
    VisitDone,
)
from central.errors import ActionError, DriftvaktError, StoreError
from central.fleet import Fleet
from central.ingest import Item, Parsed
from central.mqtt_link import LinkChanged
from central.notify import AckLinks, find_reply_code
from central.policy import load_policy
from central.store import (
    CommandRecord,
    EngineCheckpoint,
    OutboxMessage,
    ProcessedEvent,
    Store,
    Task,
    audit,
    outbox,
    timers,
)
from central.store import Timer as TimerRow
from central.store import registry as registry_rows
from central.writer import EffectWriter, Written
from protocol import (
    Availability,
    Command,
    CommandResult,
    CommandType,
    Event,
    StateSnapshot,
    TopicKind,
    gateway_topic,
    new_id,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Publish = Callable[[str, str, bytes], bool]
"""``(tenant, topic, payload) -> accepted``: the MQTT link's QoS 1 publish."""

COMMAND_TTL = timedelta(minutes=5)
TIMER_RETRY = timedelta(seconds=30)
DB_RETRY_MIN_S, DB_RETRY_MAX_S = 0.5, 10.0
"""A timer whose firing failed is tried again this much later."""


def utcnow() -> datetime:
    """The live clock; only the shell calls it."""
    return datetime.now(UTC)


@dataclass(slots=True)
class _Tenant:
    name: str
    engine: Engine
    writer: EffectWriter
    lock: threading.RLock
    stale: bool = False
    """The engine ran ahead of the database and could not be reloaded yet."""


class Service:
    """Engine, store and fleet state for every tenant of one central process.

    :param CentralConfig config: the validated configuration.
    :param Store store: a migrated store.
    :param clock: the live clock (tests inject one).
    """

    def __init__(self, config: CentralConfig, store: Store, clock: Clock = utcnow) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.fleet = Fleet()
        self.links = AckLinks(
            config.links.public_url, config.links.secret or "", config.links.max_age_h * 3600
        )
        self._policy = load_policy(config.policy)
        self._tenants = {t: self._load(t) for t in config.tenants}
        self.stopping = threading.Event()
        """Set at shutdown: inputs waiting for the database give up."""
        self.on_outbox: Callable[[], None] = lambda: None
        """Called after a commit that added outbox rows (the worker's ``kick``)."""
        self.publish: Publish | None = None
        """Set by the runner once the MQTT links are up; commands need it."""
        self.counters: dict[str, int] = {
            "duplicates": 0,
            "decisions": 0,
            "timers_fired": 0,
            "stale_timers": 0,
            "coalesced": 0,
            "inputs": 0,
        }
        with store.session() as session:
            self.fleet.load(session)

    # --- engine lifecycle -----------------------------------------------------------
    def _load(self, tenant: str) -> _Tenant:
        with self.store.session() as session:
            registry = registry_rows.load(session, tenant)
            row = session.get(EngineCheckpoint, tenant)
            state = EngineState.from_dict(row.state) if row is not None else None
        engine = Engine(self._policy, registry, state)
        writer = EffectWriter(self.config, tenant, self.links)
        return _Tenant(tenant, engine, writer, threading.RLock())

    def _reload(self, rt: _Tenant) -> None:
        """Back to the last committed checkpoint (the caller holds ``rt.lock``)."""
        rt.stale = True
        try:
            self._fresh(rt)
        except Exception:
            log.warning("%s: engine reload deferred until the database answers", rt.name)

    def _fresh(self, rt: _Tenant) -> None:
        """Reload a stale engine before it decides anything (raises while the DB is away)."""
        if rt.stale:
            rt.engine = self._load(rt.name).engine
            rt.stale = False

    def _tenant(self, tenant: str) -> _Tenant:
        try:
            return self._tenants[tenant]
        except KeyError:
            raise ActionError(f"tenant {tenant!r} is not served by this central service") from None

    def _feed(
        self,
        tenant: str,
        make: Callable[[datetime], Input],
        actor: str = "engine",
        event: tuple[str, Event] | None = None,
        note: dict[str, Any] | None = None,
    ) -> list[Effect]:
        """One input, one transaction: dedup, engine, effects, checkpoint."""
        rt = self._tenant(tenant)
        with rt.lock:
            self._fresh(rt)
            now = self.clock()
            if event is not None and self._seen(event[1].id):
                self.counters["duplicates"] += 1
                return []
            try:
                effects = rt.engine.handle(make(now))
            except Exception as exc:
                self._reload(rt)  # whatever the engine half-did is not in the database
                if isinstance(exc, DriftvaktError):
                    raise ActionError(str(exc)) from exc
                raise
            self.counters["inputs"] += 1
            if not effects and event is None and note is None:
                return effects
            try:
                written = self._commit(rt, effects, now, actor, event, note)
            except Exception:
                log.exception("%s: could not record an input; engine rolled back", tenant)
                self._reload(rt)
                raise
        self.counters["decisions"] += written
        return effects

    def _commit(
        self,
        rt: _Tenant,
        effects: list[Effect],
        now: datetime,
        actor: str,
        event: tuple[str, Event] | None,
        note: dict[str, Any] | None,
    ) -> int:
        with self.store.session() as session:
            if event is not None:
                gateway, body = event
                session.add(
                    ProcessedEvent(
                        event_id=body.id, tenant=rt.name, gateway=gateway, received_at=now
                    )
                )
                # The gateway page's event history: what the agent saw and did, at arrival.
                audit.record(
                    session,
                    at=now,
                    tenant=rt.name,
                    kind="gateway",
                    actor=gateway,
                    detail={"type": body.type, "device": body.device, "agent": body.detail},
                    gateway=gateway,
                )
            if note is not None:
                kind = "link" if actor == "mqtt" else "human"
                audit.record(session, at=now, tenant=rt.name, kind=kind, actor=actor, detail=note)
            written = self._record(session, rt, effects, now, actor)
        if written.outbox:
            self.on_outbox()
        return written.decisions

    def _record(
        self, session: Session, rt: _Tenant, effects: list[Effect], now: datetime, actor: str
    ) -> Written:
        """Write the effects and the engine's checkpoint, in the caller's transaction."""
        state = rt.engine.to_dict()
        written = rt.writer.write(session, effects, now, state["policies"], actor)
        row = session.get(EngineCheckpoint, rt.name)
        if row is None:
            session.add(EngineCheckpoint(tenant=rt.name, state=state, updated_at=now))
        else:
            row.state, row.updated_at = state, now
        return written

    def _seen(self, event_id: str) -> bool:
        with self.store.session() as session:
            return session.get(ProcessedEvent, event_id) is not None

    # --- MQTT input (the ingest thread) ---------------------------------------------
    def apply(self, items: list[Item]) -> None:
        """Feed one batch from ingest, in arrival order.

        Every state snapshot updates the fleet board, but only the newest of each
        gateway in the batch goes to the engine: a snapshot is last-value state, and
        the newer one, a few milliseconds later, supersedes it (events never coalesce).
        """
        newest = {_state_key(item): i for i, item in enumerate(items) if _state_key(item)}
        for i, item in enumerate(items):
            if newest.get(_state_key(item), i) != i:
                self._coalesced(item)
            else:
                self._apply_one(item)

    def _apply_one(self, item: Item) -> None:
        """Apply one input; while the database is away, wait and retry rather than drop it
        (the broker has already been told it arrived)."""
        delay = DB_RETRY_MIN_S
        while True:
            try:
                if isinstance(item, LinkChanged):
                    self._link(item)
                else:
                    self._message(item)
                return
            except (OperationalError, InterfaceError, StoreError):
                if self.stopping.is_set():
                    log.error("stopping with an input from %s not applied", _source(item))
                    return
                log.warning("database unavailable; retrying in %.1f s", delay)
                self.stopping.wait(delay)
                delay = min(delay * 2, DB_RETRY_MAX_S)
            except Exception:
                log.exception("input from %s could not be applied", _source(item))
                return

    def _coalesced(self, parsed: Item) -> None:
        if not isinstance(parsed, Parsed):
            return
        topic, body = parsed.message.topic, parsed.message.body
        if topic.tenant in self._tenants and topic.gateway and isinstance(body, StateSnapshot):
            self.fleet.state(topic.tenant, topic.gateway, body, parsed.at)
            self.counters["coalesced"] += 1

    def _link(self, change: LinkChanged) -> None:
        kind = BrokerRestored if change.up else BrokerLost
        self._feed(
            change.tenant,
            lambda now: kind(at=now),
            actor="mqtt",
            note={
                "action": "broker_restored" if change.up else "broker_lost",
                "reason": change.reason,
            },
        )

    def _message(self, parsed: Parsed) -> None:
        message, topic = parsed.message, parsed.message.topic
        tenant, gateway = topic.tenant, topic.gateway
        if tenant not in self._tenants or gateway is None:
            return  # our own _central topics match the '+' of our subscriptions
        body = message.body
        if topic.kind is TopicKind.AVAILABILITY and isinstance(body, Availability):
            self.fleet.availability(tenant, gateway, body, parsed.at)
        elif topic.kind is TopicKind.STATE and isinstance(body, StateSnapshot):
            self.fleet.state(tenant, gateway, body, parsed.at)
        elif topic.kind is TopicKind.CMD_RESULT and isinstance(body, CommandResult):
            self._command_result(tenant, gateway, body)
            return
        event = (gateway, body) if isinstance(body, Event) else None
        self._feed(tenant, lambda now: GatewayMessage(at=now, message=message), event=event)

    # --- timers and liveness (the timer thread) --------------------------------------
    def fire_due(self) -> int:
        """Fire every due timer, one transaction each; returns how many fired.

        On start this catches up on timers that fell due while the service was down.
        """
        fired = 0
        for rt in list(self._tenants.values()):
            while self._fire_one(rt):
                fired += 1
        return fired

    def _fire_one(self, rt: _Tenant) -> bool:
        timer_id = None
        with rt.lock:
            self._fresh(rt)
            now = self.clock()
            try:
                with self.store.session() as session:
                    due = timers.claim_due(session, now, limit=1, tenant=rt.name)
                    if not due:
                        return False
                    timer_id = due[0].id
                    row = timers.take(session, due[0].id, due[0].token)
                    if row is None:
                        self.counters["stale_timers"] += 1
                        return True
                    effects = rt.engine.handle(TimerFired(at=now, token=row.key))
                    written = self._record(session, rt, effects, now, "timer")
            except Exception:
                log.exception("%s: timer could not be fired; engine rolled back", rt.name)
                self._reload(rt)
                if timer_id is not None:
                    self._defer(timer_id, now)  # so one bad timer does not starve the rest
                raise
        self.counters["timers_fired"] += 1
        self.counters["decisions"] += written.decisions
        if written.outbox:
            self.on_outbox()
        return True

    def _defer(self, timer_id: int, now: datetime) -> None:
        try:
            with self.store.session() as session:
                row = session.get(TimerRow, timer_id)
                if row is not None:
                    row.due_at = now + TIMER_RETRY
        except Exception:
            log.exception("timer %s could not be deferred", timer_id)

    def tick(self) -> None:
        """Liveness: lets the engine notice silence without waiting for a message."""
        for tenant in self._tenants:
            self._feed(tenant, lambda now: Tick(at=now))

    def next_timer(self) -> datetime | None:
        with self.store.session() as session:
            return timers.next_due(session)

    # --- staff actions (the dashboard and inbound SMS) -------------------------------
    def acknowledge(self, task_id: str, by: str) -> None:
        """Someone took the task: reminders and escalation stop."""
        tenant = self._task_tenant(task_id)
        self._feed(
            tenant,
            lambda now: Acknowledge(at=now, ref=TaskRef(task=task_id), by=by),
            actor=by,
            note={"action": "acknowledge", "task": task_id},
        )

    def acknowledge_link(self, token: str) -> str:
        """Acknowledge through a signed link; returns the task id.

        :raises ActionError: forged, mangled or expired link.
        """
        task_id = self.links.task_of(token)
        self.acknowledge(task_id, by="länk")
        return task_id

    def acknowledge_sms(self, sender: str, text: str) -> str:
        """Acknowledge by an SMS reply carrying the task's code; returns the task id.

        :raises ActionError: no code, an unknown code, or a sender not in the contacts.
        """
        code = find_reply_code(text)
        if code is None:
            raise ActionError("the reply carries no acknowledgement code")
        if sender not in _known_phones(self.config):
            raise ActionError(f"{sender} is not in the contact directory")
        with self.store.session() as session:
            task_id = session.scalars(select(Task.id).where(Task.reply_code == code)).first()
        if task_id is None:
            raise ActionError(f"no open task has the code {code}")
        self.acknowledge(task_id, by=sender)
        return task_id

    def task_done(self, task_id: str, by: str) -> None:
        tenant = self._task_tenant(task_id)
        self._feed(
            tenant,
            lambda now: TaskDone(at=now, ref=TaskRef(task=task_id), by=by),
            actor=by,
            note={"action": "task_done", "task": task_id},
        )

    def visit_done(
        self, task_id: str, by: str, restarted: bool, camera_works: bool | None = None
    ) -> None:
        """The night patrol made the visit (ROUTINE.md 4-5)."""
        tenant = self._task_tenant(task_id)
        self._feed(
            tenant,
            lambda now: VisitDone(
                at=now,
                ref=TaskRef(task=task_id),
                restarted=restarted,
                camera_works=camera_works,
                by=by,
            ),
            actor=by,
            note={
                "action": "visit_done",
                "task": task_id,
                "restarted": restarted,
                "camera_works": camera_works,
            },
        )

    def vendor_case(self, tenant: str, incident_id: str, case_number: str, by: str) -> None:
        self._feed(
            tenant,
            lambda now: VendorCaseNumber(
                at=now, incident=incident_id, case_number=case_number, by=by
            ),
            actor=by,
            note={"action": "vendor_case", "incident": incident_id, "case": case_number},
        )

    def report_failed_check(
        self, tenant: str, gateway: str | None, by: str, check: datetime | None = None
    ) -> None:
        """A failed digital check, for one home or (``gateway=None``) every camera."""
        self._feed(
            tenant,
            lambda now: CheckFailed(at=now, gateway=gateway, check=check, by=by),
            actor=by,
            note={"action": "check_failed", "gateway": gateway or "all"},
        )

    def power_cycle(self, tenant: str, gateway: str, device: str, by: str) -> str:
        """Send a ``power_cycle`` command; the agent answers on ``cmd/result``."""
        if self.publish is None:
            raise ActionError("not connected to the MQTT broker")
        now = self.clock()
        command = Command(
            v=1,
            id=new_id(),
            ts=now,
            type=CommandType.POWER_CYCLE,
            device=device,
            by=by,
            expires=now + COMMAND_TTL,
        )
        with self.store.session() as session:
            session.add(
                CommandRecord(
                    id=command.id,
                    tenant=tenant,
                    gateway=gateway,
                    type=command.type.value,
                    device=device,
                    by=by,
                    sent_at=now,
                    expires_at=command.expires,
                )
            )
            audit.record(
                session,
                at=now,
                tenant=tenant,
                kind="command",
                actor=by,
                detail={"command": command.id, "gateway": gateway, "device": device},
            )
        topic = gateway_topic(tenant, gateway, TopicKind.CMD)
        if not self.publish(tenant, topic, command.to_payload()):
            raise ActionError("the broker did not take the command; try again")
        return command.id

    def _command_result(self, tenant: str, gateway: str, result: CommandResult) -> None:
        now = self.clock()
        with self.store.session() as session:
            row = session.get(CommandRecord, result.id)
            if row is None or row.gateway != gateway:
                log.warning("result for unknown command %s from %s", result.id, gateway)
                return
            row.result_at, row.ok, row.detail = now, result.ok, result.detail
            audit.record(
                session,
                at=now,
                tenant=tenant,
                kind="command",
                actor=gateway,
                detail={"command": result.id, "ok": result.ok, "detail": result.detail},
                gateway=gateway,
            )

    def _task_tenant(self, task_id: str) -> str:
        with self.store.session() as session:
            task = session.get(Task, task_id)
            if task is None:
                raise ActionError(f"no task {task_id!r}")
            return task.tenant

    # --- reads -----------------------------------------------------------------------
    def flush_fleet(self) -> int:
        return self.fleet.flush(self.store)

    def fleet_board(self, tenant: str | None = None) -> list[dict[str, Any]]:
        now = self.clock()
        return [g.as_dict(now) for g in self.fleet.all(tenant)]

    def incidents(self, open_only: bool = True) -> list[dict[str, Any]]:
        with self.store.session() as session:
            return queries.incidents(session, open_only)

    def tasks(self, role: str | None = None, live_only: bool = True) -> list[dict[str, Any]]:
        with self.store.session() as session:
            return queries.tasks(session, role, live_only)

    def tonight_visits(self) -> list[dict[str, Any]]:
        with self.store.session() as session:
            return queries.visits(session, self.clock())

    def dead_letters(self) -> list[dict[str, Any]]:
        with self.store.session() as session:
            return queries.dead_letters(session)

    def retry_dead_letter(self, outbox_id: int, by: str) -> None:
        """Give a dead letter another round (after fixing an address, say); audited.

        :raises ActionError: no dead letter has that id.
        """
        now = self.clock()
        with self.store.session() as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None or not outbox.retry_dead(session, outbox_id, now):
                raise ActionError(f"no dead letter {outbox_id}")
            detail = {"action": "retry_dead_letter", "outbox_id": outbox_id}
            audit.record(
                session,
                at=now,
                tenant=row.tenant,
                kind="human",
                actor=by,
                incident_id=row.incident_id,
                detail=detail,
            )
        self.on_outbox()

    def metrics(self) -> dict[str, Any]:
        with self.store.session() as session:
            by_status = dict(
                session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                ).all()
            )
        return {**self.counters, "outbox": {str(k): int(v) for k, v in by_status.items()}}


def _known_phones(config: CentralConfig) -> set[str]:
    contacts = [*config.contacts.roles.values(), *config.contacts.groups.values()]
    return {p for c in contacts for p in c.phone}


def _state_key(item: Item) -> tuple[str, str] | None:
    if isinstance(item, Parsed) and item.message.topic.kind is TopicKind.STATE:
        return item.message.topic.tenant, item.message.topic.gateway or ""
    return None


def _source(item: Item) -> str:
    return item.tenant if isinstance(item, LinkChanged) else item.message.topic.gateway or "?"

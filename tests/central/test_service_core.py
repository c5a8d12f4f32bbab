"""The service layer without a broker: inputs fed as ingest would, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from central.errors import ActionError
from central.ingest import Parsed
from central.service import Service
from central.store import AuditEntry, Gateway, Incident, OutboxMessage, ProcessedEvent, Store
from protocol import Message, TopicKind, gateway_topic, parse
from tests.central.harness import (
    LARM_PHONE,
    TENANT,
    FakeClock,
    config_of,
    event,
    seed_registry,
    snapshot,
)

TUESDAY_10 = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[Service]:
    seed_registry(db_url, ["gw-a", "gw-b", "gw-c"])
    data = {
        "tenants": [TENANT],
        "database": {"url": db_url},
        "links": {"secret": "k" * 32, "public_url": "https://dv.test"},
        "contacts": {"roles": {"larmgruppen": {"phone": [LARM_PHONE]}}},
        "sms": {"url": "http://127.0.0.1:1/sms", "username": "u", "password": "p"},
    }
    store = Store(db_url)
    store.upgrade()
    yield Service(config_of(data), store, FakeClock(TUESDAY_10))
    store.close()


def _msg(gateway: str, kind: TopicKind, payload: bytes) -> Message:
    message = parse(gateway_topic(TENANT, gateway, kind), payload)
    assert isinstance(message, Message)
    return message


def _outage(service: Service, gateway: str, payload: bytes | None = None) -> bytes:
    payload = payload or event("restart_exhausted", TUESDAY_10, 1)
    service.apply([Parsed(_msg(gateway, TopicKind.EVENTS, payload), service.clock())])
    return payload


def test_service_duplicate_event_changes_nothing(service: Service) -> None:
    payload = _outage(service, "gw-a")
    outbox_rows = len(service.dead_letters()) + service.metrics()["outbox"].get("pending", 0)
    _outage(service, "gw-a", payload)
    assert service.counters["duplicates"] == 1
    assert len(service.incidents()) == 1
    with service.store.session() as s:
        assert len(s.scalars(select(ProcessedEvent)).all()) == 1
    assert (
        len(service.dead_letters()) + service.metrics()["outbox"].get("pending", 0) == outbox_rows
    )


def test_service_role_without_address_is_a_visible_dead_letter(service: Service) -> None:
    _outage(service, "gw-a")
    dead = service.dead_letters()
    # larmgruppen has a phone but no e-mail, and no [smtp] is configured at all
    assert [d["channel"] for d in dead] == ["email"]
    assert "no email address for role 'larmgruppen'" in dead[0]["error"]
    assert service.metrics()["outbox"]["pending"] == 2  # the SMS and the MQTT summary


def test_service_dead_letter_can_be_retried_once_fixed(service: Service) -> None:
    _outage(service, "gw-a")
    (dead,) = service.dead_letters()
    service.retry_dead_letter(dead["id"], by="operatör-1")
    assert service.dead_letters() == []
    assert service.metrics()["outbox"]["pending"] == 3
    with pytest.raises(ActionError, match="no dead letter"):
        service.retry_dead_letter(dead["id"], by="operatör-1")


def test_service_ack_by_link_and_by_sms_code(service: Service) -> None:
    _outage(service, "gw-a")
    (task,) = service.tasks()
    token = service.links.token(task["id"])
    assert service.acknowledge_link(token) == task["id"]
    assert service.tasks()[0]["acknowledged_by"] == "länk"
    with pytest.raises(ActionError, match="not valid"):
        service.acknowledge_link(token[:-2] + "xx")
    with pytest.raises(ActionError, match="not in the contact directory"):
        service.acknowledge_sms("+46709999999", f"ok {task['reply_code']}")
    with pytest.raises(ActionError, match="no acknowledgement code"):
        service.acknowledge_sms(LARM_PHONE, "ok")
    with service.store.session() as s:
        humans = s.scalars(select(AuditEntry).where(AuditEntry.kind == "human")).all()
        assert [(h.actor, h.detail["action"]) for h in humans] == [("länk", "acknowledge")]


def test_service_failed_check_for_all_cameras_opens_an_incident(service: Service) -> None:
    service.report_failed_check(TENANT, None, by="tillsyn-anna")
    opened = service.incidents()
    assert opened and set(opened[0]["gateways"]) <= {"gw-a", "gw-b", "gw-c"}
    with service.store.session() as s:
        (human,) = s.scalars(select(AuditEntry).where(AuditEntry.kind == "human")).all()
        assert human.actor == "tillsyn-anna" and human.detail["gateway"] == "all"


def test_service_unknown_task_is_an_action_error(service: Service) -> None:
    with pytest.raises(ActionError, match="no task"):
        service.acknowledge("nope", by="x")


def test_service_restart_resumes_from_checkpoint(service: Service) -> None:
    _outage(service, "gw-b")
    clock = service.clock
    assert isinstance(clock, FakeClock)
    again = Service(service.config, service.store, clock)  # a new process on the same database
    clock.advance(minutes=16)
    assert again.fire_due() >= 1  # the acknowledgement deadline: a reminder
    with again.store.session() as s:
        keys = s.scalars(select(OutboxMessage.idempotency_key)).all()
        (incident,) = s.scalars(select(Incident)).all()
    assert any(":reminder:" in k for k in keys) and incident.status == "open"
    assert again.fire_due() == 0
    assert clock() - TUESDAY_10 == timedelta(minutes=16)


def test_service_fleet_board_liveness_and_write_behind(service: Service) -> None:
    clock = service.clock
    assert isinstance(clock, FakeClock)
    state = snapshot("up", TUESDAY_10, 1)
    service.apply([Parsed(_msg("gw-c", TopicKind.STATE, state), clock())])
    (gw,) = service.fleet_board()
    assert (gw["gateway"], gw["liveness"], gw["devices"]["camera"]["health"]) == (
        "gw-c",
        "online",
        "up",
    )
    clock.advance(seconds=61)  # two 30-second heartbeats missed
    assert service.fleet_board()[0]["liveness"] == "silent"
    offline = _msg("gw-c", TopicKind.AVAILABILITY, b"offline")
    service.apply([Parsed(offline, clock())])
    assert service.fleet_board()[0]["liveness"] == "offline"
    assert service.flush_fleet() == 1
    with service.store.session() as s:
        row = s.get(Gateway, (TENANT, "gw-c"))
        assert row is not None and row.availability == "offline" and row.seq == 1
        assert row.devices["camera"]["health"] == "up"
